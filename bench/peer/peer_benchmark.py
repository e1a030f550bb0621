#!/usr/bin/env python3
"""
The peer baseline of issue 14, in one run: PAMM written in plain PyTorch (torch_pamm), pammcuda's engine and
cuBLAS's exact product (torch.mm), timed side by side on one layer's Q, K and V weight gradients at the paper's
shapes, with each result's error against the exact product in float64 so that a fast but wrong result cannot hide.

    python3 bench/peer/peer_benchmark.py [--quick] [--tokens B ...] [--widths N ...] [--dtypes ...] [--out DIR]

On CUDA every operation is timed with CUDA events (warm-up, then the median of several repeats, L2 flushed before
each); on the CPU with time.perf_counter. Writes <date>-peer-<device>.md and .json into --out.
"""

import argparse
import dataclasses
import datetime
import fractions
import json
import math
import pathlib
import platform
import re
import statistics
import sys
import time

import torch

import checkout
import torch_pamm

PAPER_TOKENS = (16384, 65536)
PAPER_WIDTHS = (768, 2048, 4096)
QUICK_TOKENS = (16384,)
QUICK_WIDTHS = (768, 2048)
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
METHODS = ("peer", "pammcuda", "exact")
DEFAULT_OUT = checkout.REPOSITORY / "bench" / "results"
# Writing at least this many bytes (and twice the L2 size) before each timed repeat evicts G from L2 (50–60 MB on an
# H100/H200): at n = 768 the three gradients would otherwise be read from cache and inflate every bandwidth figure.
L2_FLUSH_BYTES = 256 * 2**20
# An exact product farther than this from the float64 product is not the exact product (TF32 left on, say):
# well above the output's rounding (2^-8 relative for bfloat16) and float32 summation over b ≤ 2^17 rows.
EXACT_TOLERANCE = {torch.float32: 1e-4, torch.float16: 4e-3, torch.bfloat16: 2e-2}


@dataclasses.dataclass(frozen=True)
class Settings:
    tokens: tuple
    widths: tuple
    dtypes: tuple
    ratio: float
    epsilon: float
    noise: float
    repeats: int
    warmup: int
    seed: int
    max_error: float
    device: torch.device
    out: pathlib.Path
    skip_pammcuda: bool


# ---------------------------------------------------------------------------------------------------- arguments

def _ratio(text):
    """A ratio as a fraction ("1/512") or a number; range-checked by the parser's caller."""
    try:
        return float(fractions.Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number or fraction: {text!r}") from None


def build_parser():
    parser = argparse.ArgumentParser(prog="peer_benchmark.py", description=__doc__.strip().split("\n\n")[0])
    paper = " ".join(map(str, PAPER_TOKENS)), " ".join(map(str, PAPER_WIDTHS))
    parser.add_argument("--tokens", type=int, nargs="+", help=f"rows b of X and G (default: {paper[0]})")
    parser.add_argument("--widths", type=int, nargs="+", help=f"n = m, the layer's width (default: {paper[1]})")
    parser.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), default=["bfloat16", "float32"],
                        help="default: bfloat16 float32")
    parser.add_argument("--ratio", type=_ratio, default=1 / 512,
                        help="r: generators per row, in (0, 1]; a fraction such as 1/64 works (default: 1/512)")
    parser.add_argument("--epsilon", type=float, default=math.inf,
                        help="neighbourhood ε (default: %(default)s, which keeps every row)")
    parser.add_argument("--noise", type=float, default=0.1,
                        help="noise norm of a row relative to its cluster direction (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=10,
                        help="timed repeats per measurement, the median is kept (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before the repeats (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the inputs and of both samplers (default: %(default)s)")
    parser.add_argument("--max-error", type=float, default=0.5,
                        help="a PAMM result whose relative error exceeds this fails the run, exit 1 "
                             "(default: %(default)s)")
    parser.add_argument("--device", choices=("cuda", "cpu"), help="default: cuda where torch sees a GPU, else cpu")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                        help="folder for the .md and .json (default: bench/results)")
    parser.add_argument("--quick", action="store_true",
                        help=f"b = {QUICK_TOKENS[0]}, n = m = {' and '.join(map(str, QUICK_WIDTHS))} "
                             "unless --tokens or --widths are given")
    parser.add_argument("--skip-pammcuda", action="store_true", help="time the peer and the exact product only")
    return parser


def parse_settings(argv=None):
    """The command line checked as a whole; a wrong value exits 2 with a message that names its flag."""
    parser = build_parser()
    args = parser.parse_args(argv)
    tokens = tuple(args.tokens or (QUICK_TOKENS if args.quick else PAPER_TOKENS))
    widths = tuple(args.widths or (QUICK_WIDTHS if args.quick else PAPER_WIDTHS))
    if min(tokens) < 1:
        parser.error(f"--tokens must be positive, got {list(tokens)}")
    if min(widths) < 1:
        parser.error(f"--widths must be positive, got {list(widths)}")
    if not 0 < args.ratio <= 1:
        parser.error(f"--ratio must be in (0, 1], got {args.ratio}")
    if not args.epsilon >= 0:
        parser.error(f"--epsilon must be >= 0 (inf keeps every row), got {args.epsilon}")
    if not args.noise >= 0:
        parser.error(f"--noise must be >= 0, got {args.noise}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    if not args.max_error > 0:
        parser.error(f"--max-error must be positive, got {args.max_error}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return Settings(tokens, widths, tuple(DTYPES[name] for name in args.dtypes), args.ratio, args.epsilon, args.noise,
                    args.repeats, args.warmup, args.seed, args.max_error, device, args.out, args.skip_pammcuda), parser


# ---------------------------------------------------------------------------------------------------- timing

class CudaTimer:
    """Device time of an operation: CUDA events around each repeat, one synchronisation after all of them."""

    def __init__(self, device):
        l2_bytes = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0)
        self._flush = torch.empty(max(L2_FLUSH_BYTES, 2 * l2_bytes), dtype=torch.uint8, device=device)
        self.description = f"CUDA events, {self._flush.numel() // 2**20} MiB written before each repeat to empty L2"

    def median_us(self, operation, warmup, repeats):
        for _ in range(warmup):
            operation()
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
        for start, end in zip(starts, ends):
            self._flush.zero_()
            start.record()
            result = operation()
            end.record()
            del result  # freed after the end event: a free that waits for the device is not the operation's time
        torch.cuda.synchronize()
        return statistics.median(start.elapsed_time(end) * 1e3 for start, end in zip(starts, ends))


class WallTimer:
    """Wall time of an operation on the CPU (everything there is synchronous)."""

    description = "time.perf_counter"

    def median_us(self, operation, warmup, repeats):
        for _ in range(warmup):
            operation()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = operation()
            times.append((time.perf_counter() - start) * 1e6)
            del result
        return statistics.median(times)


# ---------------------------------------------------------------------------------------------------- inputs

def clustered_activations(rows, cols, clusters, noise, generator, device):
    """
    Rows near a few directions, as the tokens of a layer's input are (the premise of PAMM): row i is
    ±(0.5..1.5)·u_c(i) for one of `clusters` random unit directions, plus Gaussian noise of norm about `noise`.
    PAMM's error is then about the noise level; on unstructured Gaussian rows it is about 1 for every method,
    right or wrong, and would check nothing.
    """
    def randn(*shape):
        return torch.randn(*shape, generator=generator, device=device)

    directions = randn(clusters, cols)
    directions /= directions.norm(dim=1, keepdim=True)
    labels = torch.randint(clusters, (rows,), generator=generator, device=device)
    scales = (0.5 + torch.rand(rows, generator=generator, device=device)) * randn(rows).sign()
    return scales.unsqueeze(1) * directions[labels] + randn(rows, cols) * (noise / math.sqrt(cols))


def make_inputs(settings, rows, width, dtype, k):
    """X (b × n) and the gradients of Q, K and V (b × m each), in `dtype`, from a generator seeded per shape."""
    generator = torch.Generator(device=settings.device).manual_seed(settings.seed)
    x = clustered_activations(rows, width, max(1, k // 8), settings.noise, generator, settings.device).to(dtype)
    grads = [torch.randn(rows, width, generator=generator, device=settings.device).to(dtype) for _ in range(3)]
    return x, grads


def exact_products(x, grads):
    """Gᵀ X in float64 for each gradient: the reference of every method, from the same (rounded) inputs."""
    x64 = x.double()
    return [torch.mm(grad.double().t(), x64) for grad in grads]


def relative_errors(outputs, references):
    """‖Õ − Gᵀ X‖_F / ‖Gᵀ X‖_F for each output against its float64 reference."""
    return [float((output.double() - reference).norm() / reference.norm())
            for output, reference in zip(outputs, references)]


# ---------------------------------------------------------------------------------------------------- methods

class Method:
    """What every method does with one layer's three gradients: one product each, unless it has a batched form."""

    def products(self, state, grads):
        return [self.product(state, grad) for grad in grads]


class ExactMethod(Method):
    """
    cuBLAS's (on the CPU, PyTorch's) exact product Gᵀ X, float32 sums rounded once to G's type; it keeps X itself.
    On the CPU, PyTorch's own 16-bit GEMM does not sum in float32 on every processor (torch 1.13 without AVX-512
    rounds partial sums to bfloat16: 2 % off at 256 rows), so there the operands are widened to float32 first.
    """

    name = "exact"

    def compress(self, x):
        return x

    def product(self, state, grad):
        if grad.device.type == "cpu" and grad.dtype != torch.float32:
            return torch.mm(grad.t().float(), state.float()).to(grad.dtype)
        return torch.mm(grad.t(), state)

    def stored_bytes(self, state):
        return state.numel() * state.element_size()


class PeerMethod(Method):
    """PAMM in plain PyTorch (torch_pamm), a fresh torch.randperm sample at every compression."""

    name = "peer"

    def __init__(self, settings):
        self._options = dict(ratio=settings.ratio, epsilon=settings.epsilon)
        self._generator = torch.Generator(device=settings.device).manual_seed(settings.seed)

    def compress(self, x):
        return torch_pamm.compress(x, generator=self._generator, **self._options)

    def product(self, state, grad):
        return torch_pamm.approx_matmul(state, grad)

    def stored_bytes(self, state):
        return state.stored_bytes


class PammcudaMethod(Method):
    """
    pammcuda's engine (its CPU backend on the CPU): compress, then Compressed.matmul ([out, in] layout); a layer's three
    products in one Compressed.matmul_batch, as PammQKV's backward runs them (on CUDA one pass, each stage one launch).
    """

    name = "pammcuda"

    def __init__(self, pammcuda, settings):
        self._options = pammcuda.PammOptions(ratio=settings.ratio, epsilon=settings.epsilon, seed=settings.seed)
        self._compress = pammcuda.compress

    def compress(self, x):
        return self._compress(x, self._options)

    def product(self, state, grad):
        return state.matmul(grad)

    def products(self, state, grads):
        return state.matmul_batch(grads)

    def stored_bytes(self, state):
        return state.stored_bytes


def layer(method, x, grads):
    """One layer's backward through PAMM: compress X once, then the Q, K and V weight gradients from it."""
    return method.products(method.compress(x), grads)


# ---------------------------------------------------------------------------------------------------- one case

def measure_case(settings, timer, methods, rows, width, dtype):
    """Every method at one shape and dtype: errors first (one untimed run), then compress, product and layer times."""
    k = torch_pamm.generator_count(rows, settings.ratio)
    x, grads = make_inputs(settings, rows, width, dtype, k)
    g_bytes = grads[0].numel() * grads[0].element_size()
    copy_target = torch.empty_like(grads[0])
    copy_us = timer.median_us(lambda: copy_target.copy_(grads[0]), settings.warmup, settings.repeats)
    del copy_target
    references = exact_products(x, grads)

    def timed(operation):
        return timer.median_us(operation, settings.warmup, settings.repeats)

    results = {}
    for method in methods:
        # The untimed run also pays any first-call cost (kernel compilation, cuBLAS handles) before the timing.
        errors = relative_errors(layer(method, x, grads), references)
        state = method.compress(x)
        results[method.name] = dict(
            compress_us=None if method.name == "exact" else timed(lambda: method.compress(x)),
            product_us=timed(lambda: method.product(state, grads[0])),
            layer_us=timed(lambda: layer(method, x, grads)),
            relative_errors=errors, stored_bytes=method.stored_bytes(state))
        del state
    return dict(tokens=rows, width=width, dtype=str(dtype).replace("torch.", ""), k=k, g_bytes=g_bytes,
                copy_us=copy_us, results=_with_ratios(results, g_bytes, copy_us, dtype, settings))


def _with_ratios(results, g_bytes, copy_us, dtype, settings):
    """Adds bandwidth, speed-ups and the error check to each method's timings, in METHODS order."""
    rows = []
    exact, peer = results["exact"], results.get("peer")
    for name in (name for name in METHODS if name in results):
        result = results[name]
        limit = EXACT_TOLERANCE[dtype] if name == "exact" else settings.max_error
        error = max(result["relative_errors"])
        rows.append(dict(
            method=name, **result,
            relative_error=error, error_limit=limit, check="ok" if error <= limit else "WRONG",
            g_read_gbps=g_bytes / result["product_us"] / 1e3,
            # One read of G at the bandwidth of copying it (which reads and writes it): half the copy's time.
            read_floor_percent=100 * (copy_us / 2) / result["product_us"],
            product_vs_exact=exact["product_us"] / result["product_us"],
            layer_vs_exact=exact["layer_us"] / result["layer_us"],
            product_vs_peer=peer and peer["product_us"] / result["product_us"],
            layer_vs_peer=peer and peer["layer_us"] / result["layer_us"]))
    return rows


# ---------------------------------------------------------------------------------------------------- the record

def git_commit():
    """$PAMM_COMMIT (the GPU visit sets it), else this checkout's HEAD, else 'unknown'."""
    return checkout.commit()


def environment(settings, timer, pammcuda, now):
    """Where and how the run was made: everything a reader needs to trust or repeat it."""
    record = dict(
        machine=checkout.machine(settings.device), device=settings.device.type, date=now.isoformat(timespec="seconds"),
        commit=git_commit(), torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(),
        pammcuda=dict(version=pammcuda.version(), library=pammcuda.library_path()) if pammcuda else None,
        command=" ".join([pathlib.Path(sys.argv[0]).name] + sys.argv[1:]), timing=timer.description,
        repeats=settings.repeats, warmup=settings.warmup, ratio=settings.ratio, epsilon=settings.epsilon,
        noise=settings.noise, seed=settings.seed, max_error=settings.max_error)
    if settings.device.type == "cuda":
        record.update(float32_matmul_precision=torch.get_float32_matmul_precision(),
                      bf16_reduced_precision_reduction=getattr(
                          torch.backends.cuda.matmul, "allow_bf16_reduced_precision_reduction", None))
    return record


def _time(us):
    return "—" if us is None else (f"{us:,.0f}" if us >= 100 else f"{us:.1f}")


def _rate(gbps):
    return f"{gbps:,.0f}" if gbps >= 100 else f"{gbps:.3g}"


def _fraction(value):
    """1/512 rather than 0.001953125 where the ratio is one."""
    fraction = fractions.Fraction(value).limit_denominator(1 << 20)
    return str(fraction) if float(fraction) == value else f"{value:g}"


def _times(value):
    return "—" if value is None else f"{value:.2f}×"


def _bytes(value):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value} B"


TABLE_HEADER = [
    "| b | n = m | dtype | k | method | compress µs | product µs | G read GB/s | % of read floor | compress + 3 products µs "
    "| product vs exact | layer vs exact | product vs peer | layer vs peer | rel. error (max of 3) | kept | check |",
    "| ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
]


def markdown_table(cases):
    lines = list(TABLE_HEADER)
    for case in cases:
        for row in case["results"]:
            lines.append(
                f"| {case['tokens']} | {case['width']} | {case['dtype']} | {case['k']} | {row['method']} "
                f"| {_time(row['compress_us'])} | {_time(row['product_us'])} | {_rate(row['g_read_gbps'])} "
                f"| {row['read_floor_percent']:.0f} % | {_time(row['layer_us'])} | {_times(row['product_vs_exact'])} "
                f"| {_times(row['layer_vs_exact'])} | {_times(row['product_vs_peer'])} | {_times(row['layer_vs_peer'])} "
                f"| {row['relative_error']:.2e} | {_bytes(row['stored_bytes'])} | {row['check']} |")
    return "\n".join(lines)


def markdown(record):
    pammcuda = record["pammcuda"]
    lines = [
        f"# PAMM peer baseline: {record['machine']}, {record['date']}",
        "",
        f"Commit `{record['commit']}`, torch {record['torch']}" + (f" (CUDA {record['cuda']})" if record["cuda"] else "")
        + f", Python {record['python']}, "
        + (f"pammcuda {pammcuda['version']} (`{pammcuda['library']}`)." if pammcuda else "pammcuda not run."),
        f"Command: `{record['command']}`.",
        f"r = {_fraction(record['ratio'])}, ε = {record['epsilon']:g}; timing: {record['timing']}, median of "
        f"{record['repeats']} after {record['warmup']} warm-up calls"
        + (f"; float32 matmul precision {record['float32_matmul_precision']} (highest: no TF32)."
           if "float32_matmul_precision" in record else "."),
        "",
        markdown_table(record["cases"]),
        "",
        "- **peer**: PAMM written as a PyTorch user would (`bench/peer/torch_pamm.py`: `randperm`, `mm`, `argmax`, "
        "`index_add_`, `mm`); **pammcuda**: `pammcuda.compress` + `Compressed.matmul` (a layer's three products: one `Compressed.matmul_batch`); **exact**: `torch.mm(G.t(), X)` "
        "(cuBLAS on CUDA). All write the m × n weight gradient in the inputs' type.",
        "- **compress + 3 products**: one layer's Q, K and V weight gradients from one compression (exact: three "
        "products). **vs exact / vs peer**: their time over this one's (above 1: this one is faster).",
        "- **G read GB/s**: bytes of one G over the product's time. **% of read floor**: the time of one read of G at "
        "the bandwidth of copying it in this run (half the copy's time) over the product's time.",
        f"- **rel. error**: ‖Õ − GᵀX‖_F / ‖GᵀX‖_F against the float64 product of the same inputs, the largest of Q, K, "
        f"V; **check** fails PAMM above {record['max_error']:g} and an exact product above its dtype's rounding "
        "(TF32 would). Inputs: X's rows lie near k/8 random directions with noise of relative norm "
        f"{record['noise']:g} (PAMM's premise; on unstructured rows every method's error is about 1), G Gaussian.",
        "- **kept**: bytes each method keeps for the backward pass (exact: X itself).",
    ]
    return "\n".join(lines) + "\n"


def result_stem(record, now):
    device = re.sub(r"[^a-z0-9]+", "-", record["machine"].split(",")[0].lower()).strip("-")
    return f"{now:%Y-%m-%d-%H%M}-peer-{device}"


def write(record, folder, stem):
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"{stem}.json", folder / f"{stem}.md"
    paths[0].write_text(json.dumps(record, indent=1) + "\n")
    paths[1].write_text(markdown(record))
    return paths


# ---------------------------------------------------------------------------------------------------- main

def main(argv=None):
    settings, parser = parse_settings(argv)
    pammcuda, reason = (None, None) if settings.skip_pammcuda else checkout.load_pammcuda(settings.device)
    if reason:
        parser.error(f"pammcuda cannot run: {reason} (build the library, set PAMMCUDA_LIB, or pass --skip-pammcuda)")
    if settings.device.type == "cuda":
        # float32 GEMMs in full float32 (no TF32), as the engine's similarities and the C# suite's SGEMM reference;
        # this API is the one that neither PyTorch 1.13 nor 2.9+ warns about.
        torch.set_float32_matmul_precision("highest")
        timer = CudaTimer(settings.device)
    else:
        checkout.use_all_cores()  # pammcuda's CPU backend uses every core too
        timer = WallTimer()
    methods = [PeerMethod(settings)] + ([PammcudaMethod(pammcuda, settings)] if pammcuda else []) + [ExactMethod()]

    now = datetime.datetime.now(datetime.timezone.utc)
    record = environment(settings, timer, pammcuda, now)
    record["cases"] = []
    for rows in settings.tokens:
        for width in settings.widths:
            for dtype in settings.dtypes:
                case = measure_case(settings, timer, methods, rows, width, dtype)
                record["cases"].append(case)
                print(_progress_line(case), flush=True)
    paths = write(record, settings.out, result_stem(record, now))
    print(markdown_table(record["cases"]))
    print("wrote " + " and ".join(str(path) for path in paths))
    wrong = failed_checks(record)
    for line in wrong:
        print(f"WRONG {line}", file=sys.stderr)
    return 1 if wrong else 0


def failed_checks(record):
    """One line per result above its error limit."""
    return [f"{case['tokens']}x{case['width']} {case['dtype']} {row['method']}: "
            f"error {row['relative_error']:.3g} > {row['error_limit']:g}"
            for case in record["cases"] for row in case["results"] if row["check"] != "ok"]


def _progress_line(case):
    times = ", ".join(f"{row['method']} {_time(row['layer_us'])} µs (error {row['relative_error']:.2g})"
                      for row in case["results"])
    return f"b {case['tokens']}, n = m {case['width']}, {case['dtype']}, k {case['k']}: compress + 3 products: {times}"


if __name__ == "__main__":
    sys.exit(main())
