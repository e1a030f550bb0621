"""
The training loop and what it measures: validation loss, tokens/s over whole steps after warm-up, peak memory,
the bytes a step keeps for backward (the Q/K/V inputs and everything; memory.py), and how far PAMM's weight
gradients are from the exact ones.
"""

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import gc
import math
import multiprocessing
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

import checkout
import corpus
import memory
import modes
import pammcuda
from model import initialise, parameter_count


def print_now(text):
    """print, flushed: progress shows at once through a pipe (tee, a side-by-side worker's shared stdout)."""
    print(text, flush=True)


@dataclasses.dataclass(frozen=True)
class Settings:
    config: modes.TrainConfig
    device: torch.device
    dtype: str = "fp32"  # or "bf16": torch.autocast with float32 weights
    seed: int = 0
    steps: int = None  # None: as many as fit in time_budget seconds of the first mode
    time_budget: float = None
    warmup_steps: int = None
    val_tokens: int = 262144
    probe_steps: str = "auto"
    log_every: int = 25
    eval_every: int = None  # also validate every this many steps (the curve through training), outside the timing
    compile: bool = False  # train through torch.compile(model) (Inductor); evaluation and probes stay eager
    log: callable = print_now


class Batches:
    """Random windows of the training split from a generator of its own, so every mode sees the same batches
    whatever else draws random numbers (PAMM layers draw their fresh seeds from torch's default generator)."""

    def __init__(self, tokens, batch, context, seed):
        if tokens.numel() <= context + 1:
            raise ValueError(f"the training split has {tokens.numel()} tokens, fewer than a context of {context}")
        self.tokens, self.batch, self.context = tokens, batch, context
        self.generator = torch.Generator().manual_seed(seed)
        self.offsets = torch.arange(context + 1)

    def next(self):
        starts = torch.randint(0, self.tokens.numel() - self.context - 1, (self.batch, 1), generator=self.generator)
        windows = self.tokens[starts + self.offsets]
        return windows[:, :-1], windows[:, 1:]


def validation_windows(tokens, context, max_tokens):
    """
    Non-overlapping windows from the start of the validation split: the same fixed set for every run. The split is
    the validation files concatenated in path order, so a --val-tokens below its size validates on its first files
    only (every recorded result was measured this way; spreading the windows would change them all).
    """
    count = min(max_tokens // context, (tokens.numel() - 1) // context)
    if count < 1:
        raise ValueError(f"--val-tokens {max_tokens} gives no window of {context} tokens")
    starts = torch.arange(count).unsqueeze(1) * context
    return tokens[starts + torch.arange(context + 1)]


def autocast(settings):
    if settings.dtype == "bf16":
        return torch.autocast(device_type=settings.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# How far a bf16 product summed over 4,096 tokens may lie from the exact product of its bfloat16 values for bf16
# training to go on: twice a single rounding to bfloat16 (2⁻⁸ relative at most; 0.16 % as measured).
BF16_PRODUCT_TOLERANCE = 2 ** -7


def bf16_product_error(device, terms=4096):
    """
    How far a bfloat16 matrix product on `device` lies from the exact product of the same bfloat16 values (relative, in
    the Frobenius norm), shaped as a weight gradient is (Gᵀ X, `terms` tokens inner) and of values with a positive mean,
    so that its running sums grow as a gradient's do. Summed in float32 (cuBLAS, PyTorch 2's CPU kernels) it is the
    output's rounding, 0.16 %. PyTorch 1.13 sums a CPU product in bfloat16, whose spacing near a sum s is s/128: once
    the sum outgrows its terms they are lost, and the product is 49 % off (a 1-by-n by n-by-1 product would not show
    it: it takes a dot product's path, which sums in float32 even there).
    """
    g, x = bf16_gradient_terms(terms)
    exact = g.double().T @ x.double()
    product = (g.to(device).T @ x.to(device)).double().cpu()
    return float((product - exact).norm() / exact.norm())


def bf16_gradient_terms(terms):
    """The check's operands: two (terms, 8) bfloat16 matrices of mean 1, always the same."""
    generator = torch.Generator().manual_seed(0)
    return tuple((torch.randn(terms, 8, generator=generator) + 1).bfloat16() for _ in range(2))


def language_model_loss(model, inputs, targets, reduction="mean"):
    logits = model(inputs)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


@torch.no_grad()
def evaluate(model, windows, token_bytes, settings, batch):
    """(mean loss in nats per token, bits per byte) over the validation windows."""
    model.eval()
    nats, tokens, byte_count = 0.0, 0, 0
    for first in range(0, windows.shape[0], batch):
        chunk = windows[first:first + batch].to(settings.device)
        inputs, targets = chunk[:, :-1], chunk[:, 1:]
        with autocast(settings):
            nats += language_model_loss(model, inputs, targets, reduction="sum").item()
        tokens += targets.numel()
        byte_count += int(token_bytes[targets.cpu()].sum())
    model.train()
    return nats / tokens, nats / math.log(2) / byte_count


def learning_rate(step, steps, peak, warmup):
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step <= warmup:
        return peak * step / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


class Stopwatch:
    """
    Wall time of the training work only: counts from start(), paused (after the device has caught up) around logging
    and probes. Before start() it counts nothing, so pausing and resuming around a warm-up step's log or probe is a no-op.
    """

    def __init__(self, device):
        self.device, self.total, self.started, self.counting = device, 0.0, None, False

    def _synchronize(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def start(self):
        self._synchronize()
        self.total, self.started, self.counting = 0.0, time.perf_counter(), True

    def pause(self):
        if self.started is not None:
            self._synchronize()
            self.total += time.perf_counter() - self.started
            self.started = None

    def resume(self):
        if self.counting and self.started is None:
            self.started = time.perf_counter()


class PeakMemory:
    """
    torch.cuda.max_memory_allocated over the timed steps, with what excluded() wraps left out: the gradient probes'
    exact model, its activations and its gradients are the benchmark's memory, not the mode's. Off CUDA there is no
    such counter, and every figure is None.
    """

    def __init__(self, device):
        self.device, self.cuda, self.started = device, device.type == "cuda", False
        self.baseline = None  # bytes allocated when the timed steps began
        self._earlier = 0  # the highest peak of the intervals before the last exclusion

    def start(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline, self._earlier, self.started = torch.cuda.memory_allocated(self.device), 0, True

    @contextlib.contextmanager
    def excluded(self):
        """Leaves out what runs inside, which must free what it allocates: the count restarts from what is then held."""
        if self.started:
            self._earlier = max(self._earlier, torch.cuda.max_memory_allocated(self.device))
        try:
            yield
        finally:
            if self.started:
                torch.cuda.reset_peak_memory_stats(self.device)

    def peak(self):
        """The highest allocation of the timed steps in bytes, or None before start() and off CUDA."""
        return max(self._earlier, torch.cuda.max_memory_allocated(self.device)) if self.started else None


def step_kept_bytes(model, batch, settings):
    """memory.KeptBytes of one training step of `model` on `batch` (inputs, targets) under the run's autocast."""
    inputs, targets = (t.to(settings.device) for t in batch)
    return memory.kept_bytes(model, inputs, targets, language_model_loss, lambda: autocast(settings))


def step_peak_bytes(model, batch, settings):
    """
    On CUDA, the most memory one forward and backward pass of `model` on `batch` held above what was allocated before
    it (torch.cuda.max_memory_allocated, after one unmeasured step so that one-time allocations are left out); the
    gradients are dropped again. None on other devices, which have no such counter.
    """
    if settings.device.type != "cuda":
        return None
    inputs, targets = (t.to(settings.device) for t in batch)
    for _ in range(2):  # the second step is measured: the first makes the one-time allocations (cuBLAS, PAMM's engine)
        model.zero_grad(set_to_none=True)
        torch.cuda.synchronize(settings.device)
        before = torch.cuda.memory_allocated(settings.device)
        torch.cuda.reset_peak_memory_stats(settings.device)
        with autocast(settings):
            loss = language_model_loss(model, inputs, targets)
        loss.backward()
        del loss
        torch.cuda.synchronize(settings.device)
    model.zero_grad(set_to_none=True)
    return torch.cuda.max_memory_allocated(settings.device) - before


def gradient_errors(model, exact_model, inputs, targets, settings):
    """
    For every PAMM layer's weight: ‖∇W̃ − ∇W‖/‖∇W‖ and ‖∇W̃‖/‖∇W‖ against the exact gradient of the same weights
    and batch. The input gradients PAMM layers pass down are exact, so the layers' G are the same in both models.
    """
    exact_model.load_state_dict(model.state_dict())
    exact_model.zero_grad(set_to_none=True)
    with autocast(settings):
        language_model_loss(exact_model, inputs, targets).backward()
    exact = dict(exact_model.named_parameters())
    errors = []
    for module_name, module in modes.pamm_modules(model):
        for name, parameter in module.named_parameters():
            full = f"{module_name}.{name}"
            approximate, reference = parameter.grad.float(), exact[full].grad.float()
            norm = reference.norm()
            errors.append({"parameter": full, "relative_error": float((approximate - reference).norm() / norm),
                           "norm_ratio": float(approximate.norm() / norm)})
    exact_model.zero_grad(set_to_none=True)
    return errors


def probe_steps(text, steps):
    if text == "none":
        return set()
    if text == "auto":
        return {1, max(1, steps // 2), steps}
    return {int(s) for s in text.split(",") if s}


def initial_state(settings, vocab_size):
    torch.manual_seed(settings.seed)
    model = initialise(modes.Mode("dense").build(settings.config.model(vocab_size)))
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _training_parts(mode, data, settings, state):
    """The model of a mode loaded with the initial state, its optimizer and its batches."""
    torch.manual_seed(settings.seed)  # PAMM's fresh per-step seeds come from here: the same in every run
    model = mode.build(settings.config.model(data.vocab_size)).to(settings.device)
    model.load_state_dict(state)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.config.lr, betas=(0.9, 0.95), weight_decay=0.0)
    return model, optimizer, Batches(data.train, settings.config.batch, settings.config.context, settings.seed)


def stepped(model, settings):
    """
    What a training step calls: the model itself, or with settings.compile torch.compile of it, which holds the same
    parameters (the optimizer, clipping, evaluation and gradient probes keep using the eager module).
    """
    return torch.compile(model) if settings.compile else model


def _step(model, optimizer, batches, settings, lr, before_update=None):
    for group in optimizer.param_groups:
        group["lr"] = lr
    inputs, targets = (t.to(settings.device, non_blocking=True) for t in batches.next())
    with autocast(settings):
        loss = language_model_loss(model, inputs, targets)
    loss.backward()
    if before_update is not None:
        before_update(inputs, targets)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def steps_for_budget(mode, data, settings, state, seconds, measured=10):
    """How many steps of `mode` fit in `seconds`, from the time of `measured` steps after three unmeasured ones."""
    model, optimizer, batches = _training_parts(mode, data, settings, state)
    runner, stopwatch = stepped(model, settings), Stopwatch(settings.device)
    for step in range(3 + measured):
        if step == 3:
            stopwatch.start()
        _step(runner, optimizer, batches, settings, settings.config.lr / 10)
    stopwatch.pause()
    return max(1, int(seconds * measured / stopwatch.total))


def collect_garbage(rounds=4):
    """
    gc.collect() until a round finds nothing (at most `rounds`): freeing torch.compile's cycles runs finalizers that
    leave new ones (seen under PyTorch 2.6: a second round freed a fifth of what the first did). On CUDA a tensor in a
    cycle is device memory held until the gc happens to run.
    """
    for _ in range(rounds):
        if not gc.collect():
            return


def train_one(mode, data, settings, state, steps):
    """Trains one mode from `state` for `steps` steps; returns its record."""
    config, device, log = settings.config, settings.device, settings.log
    model, optimizer, batches = _training_parts(mode, data, settings, state)
    runner = stepped(model, settings)
    # The probes' dense twin lives on the CPU between probes, so that the mode's peak memory is its own (and it is
    # built here, before the first step, so that it draws from torch's generator where it always did).
    exact_model = modes.Mode("dense").build(config.model(data.vocab_size)) if mode.uses_pamm else None
    warmup = settings.warmup_steps if settings.warmup_steps is not None else min(100, max(1, steps // 10))
    probes = probe_steps(settings.probe_steps, steps) if mode.uses_pamm else set()
    kept = step_kept_bytes(model, Batches(data.train, config.batch, config.context, settings.seed).next(), settings)

    windows = validation_windows(data.val, config.context, settings.val_tokens)
    losses, probe_records, val_curve, stopwatch, memory_peak = [], [], [], Stopwatch(device), PeakMemory(device)
    timed_from = min(warmup, steps - 1) + 1  # tokens/s and peak memory over whole steps after warm-up
    began = time.perf_counter()
    for step in range(1, steps + 1):
        if step == timed_from:
            # torch.compile's tracing (in the first step) leaves reference cycles that hold real tensors of the mode's
            # weights and activations until the gc happens to run: freed here, they stay out of the timed steps' peak.
            collect_garbage()
            memory_peak.start()
            stopwatch.start()

        def probe(inputs, targets):
            stopwatch.pause()
            with memory_peak.excluded():
                exact_model.to(device)
                probe_records.append({"step": step, "gradients": gradient_errors(model, exact_model, inputs, targets, settings)})
                exact_model.to("cpu")
            stopwatch.resume()

        losses.append(_step(runner, optimizer, batches, settings, learning_rate(step, steps, config.lr, warmup),
                            probe if step in probes else None))
        if step % settings.log_every == 0 or step == steps:
            stopwatch.pause()
            recent = torch.stack(losses[-settings.log_every:]).float().mean().item()
            # Tokens/s counts whole steps after warm-up only (the stopwatch counts nothing before), so no figure before then.
            rate = (f"{(step - timed_from + 1) * config.tokens_per_step / stopwatch.total:,.0f} tokens/s" if stopwatch.total > 0
                    else "tokens/s after warm-up")
            log(f"  {mode.label:>12s} step {step:5d}  loss {recent:.4f}  {rate}")
            stopwatch.resume()
        if settings.eval_every and step % settings.eval_every == 0 and step < steps:
            # Validation draws no random numbers and changes no weight: the run's steps are the same with or without it.
            stopwatch.pause()
            with memory_peak.excluded():
                val_curve.append(_validation_point(step, *evaluate(model, windows, data.token_bytes, settings, config.batch)))
            log(f"  {mode.label:>12s} step {step:5d}  val loss {val_curve[-1]['val_loss']:.4f}")
            stopwatch.resume()
    stopwatch.pause()
    peak = memory_peak.peak()  # before the validation passes, which are not a training step

    val_loss, bits_per_byte = evaluate(model, windows, data.token_bytes, settings, config.batch)
    if settings.eval_every:
        val_curve.append(_validation_point(steps, val_loss, bits_per_byte))
    timed_steps = steps - timed_from + 1
    record = {
        **_run_fields(mode, config),
        "steps": steps, "timed_steps": timed_steps,
        "val_loss": val_loss, "val_perplexity": math.exp(val_loss), "val_bits_per_byte": bits_per_byte,
        "val_tokens": int(windows.shape[0] * config.context),
        "train_loss": torch.stack(losses).float().cpu().tolist(),
        "val_curve": val_curve,
        "tokens_per_second": timed_steps * config.tokens_per_step / stopwatch.total if stopwatch.total > 0 else None,
        "seconds": time.perf_counter() - began,
        "peak_memory_bytes": peak,
        "peak_above_step_start_bytes": peak - memory_peak.baseline if peak is not None else None,
        **_kept_fields(kept),
        "gradient_probes": probe_records,
    }
    log(f"  {mode.label:>12s} done: val loss {val_loss:.4f}, perplexity {math.exp(val_loss):.3f}, "
        f"{bits_per_byte:.4f} bits/byte")
    return record


def _validation_point(step, val_loss, bits_per_byte):
    return {"step": step, "val_loss": val_loss, "val_perplexity": math.exp(val_loss), "val_bits_per_byte": bits_per_byte}


def generator_count(mode, config):
    """PAMM's k in a step of `config` (None for modes without PAMM)."""
    if not mode.uses_pamm:
        return None
    return pammcuda.resolve_k(pammcuda.PammOptions(ratio=mode.ratio, k=mode.k), config.tokens_per_step)


def kept_by_mode(runs, data, settings):
    """
    What one step of every mode keeps for backward (memory.KeptBytes) and, on CUDA, the step's peak memory, from the
    same initial weights and the first batch, training nothing: the record compare() gives with only its memory
    fields, and "memory_only" set.
    """
    state = initial_state(settings, data.vocab_size)
    record = _empty_record(data.meta, settings)
    record["memory_only"] = True
    batch = Batches(data.train, settings.config.batch, settings.config.context, settings.seed).next()
    for mode in runs:
        model, _, _ = _training_parts(mode, data, settings, state)
        kept = step_kept_bytes(model, batch, settings)
        peak = step_peak_bytes(model, batch, settings)
        settings.log(f"  {mode.label:>12s} keeps {kept.saved:,} bytes for backward"
                     + (f", {peak:,} at the step's peak" if peak is not None else ""))
        record["runs"].append({**_run_fields(mode, settings.config), **_kept_fields(kept), "step_peak_bytes": peak})
        # Otherwise the name holds this mode's model until the next one is built, and both are on the device at once.
        del model
    return record


def _run_fields(mode, config):
    """What a run's record says of its mode: label, kind, description, PAMM's options and k."""
    return {"mode": mode.label, "kind": mode.kind, "description": modes.DESCRIPTIONS[mode.kind],
            "pamm": mode.reported_options() if mode.uses_pamm else None, "k": generator_count(mode, config)}


def _kept_fields(kept):
    """A memory.KeptBytes as a run's record holds it."""
    return {"qkv_input_bytes_dense": kept.qkv_dense, "qkv_input_bytes_stored": kept.qkv_stored,
            "saved_for_backward_bytes": kept.saved, "saved_by_part": kept.saved_by_part}


def compare(runs, data, settings, after_each_run=None):
    """Trains every mode from the same initial weights on the same batches; the first run fixes the step count
    when a time budget is given. Returns the whole record (settings, machine, runs); after_each_run(record) sees it
    after every run, with the runs so far, so that a run cut short (a GPU visit's time limit) keeps what finished."""
    state = initial_state(settings, data.vocab_size)
    record = _empty_record(data.meta, settings)
    steps = settings.steps
    if steps is None:
        steps = steps_for_budget(runs[0], data, settings, state, settings.time_budget)
        settings.log(f"{steps} steps of {runs[0].label} fit in {settings.time_budget:g} s: every mode trains {steps} steps")
    for mode in runs:
        settings.log(f"== {mode.label}: {modes.DESCRIPTIONS[mode.kind]}")
        record["runs"].append(train_one(mode, data, settings, state, steps))
        collect_garbage()  # what of the run only the gc can free (torch.compile's cycles) goes before the next mode starts
        if after_each_run is not None:
            after_each_run(record)
    return record


def compare_side_by_side(runs, data_dir, settings, jobs, after_each_run=None):
    """
    compare() on the CPU with the modes trained side by side: each in a process of its own (at most `jobs` at a time)
    with cores/jobs threads, or $OMP_NUM_THREADS where it is set. Every run starts from the seed alone, so each one is
    what compare() gives with that many threads, only sooner: a small model leaves the second thread of a process idle
    much of the time. tokens/s then describe a shared machine. Needs settings.steps (no time budget) and a picklable
    settings.log.
    """
    check_side_by_side(settings)
    threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, len(os.sched_getaffinity(0)) // jobs))
    torch.set_num_threads(threads)  # what the record's machine line reports
    # The processes load the corpus; here its description is enough.
    record = _empty_record(corpus.read_meta(data_dir), settings, f", {min(jobs, len(runs))} modes side by side")
    with side_by_side_pool(jobs, threads) as pool:
        futures = [pool.submit(_train_alone, mode, data_dir, settings, threads) for mode in runs]
        for future in futures:  # in the order asked for, whichever finishes first
            record["runs"].append(future.result())
            if after_each_run is not None:
                after_each_run(record)
    return record


# What the native libraries of a side-by-side worker read as they load. torch.set_num_threads reaches PyTorch's own
# OpenMP pool only; the OpenBLAS that Debian's PyTorch multiplies with (and PAMM's CPU backend, where present) starts
# one thread per core unless told otherwise, and .NET's thread pool (PAMM's CPU backend) sizes itself by the cores it
# is told of. Left alone, two modes on two cores ran four threads that spin-wait for each other: the tiny config's first
# 100 steps took 380 s instead of 170 s (2026-12-05, 2-core AMD EPYC).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "DOTNET_PROCESSOR_COUNT")


@contextlib.contextmanager
def side_by_side_pool(jobs, threads):
    """
    A pool of `jobs` fresh processes (spawned: nothing of this process's state but its arguments reaches a run), each
    with `threads` threads in every library that starts its own (THREAD_VARIABLES), ended with the command.
    """
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})  # spawned workers copy the environment
    try:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
            yield pool
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_side_by_side(settings):
    """ValueError unless compare_side_by_side can run with these settings."""
    if settings.device.type != "cpu":
        raise ValueError(f"side by side runs are for the CPU; on {settings.device} they would share the device and "
                         "distort its tokens/s and peak memory")
    if settings.steps is None:
        raise ValueError("side by side runs need a step count, not a time budget")


def _end_with_parent(parent):
    """
    A side-by-side worker ends when the command does. Ctrl-C reaches every process of the terminal's group, but a
    SIGTERM to the command alone (kill, a scheduler's time limit) would otherwise leave its workers training for an
    hour with nobody to read their results. Linux only (prctl); elsewhere the workers finish their run.
    """
    if not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the command ended before the line above: no signal will come
        os._exit(1)


def _train_alone(mode, data_dir, settings, threads):
    """One mode of compare_side_by_side, in its own process."""
    torch.set_num_threads(threads)
    checkout.keep_freed_memory()
    data = corpus.load(data_dir)
    return train_one(mode, data, settings, initial_state(settings, data.vocab_size), settings.steps)


def _empty_record(corpus_meta, settings, machine_note=""):
    """The record of a comparison before its runs: what, where, with which code and data (the corpus's meta.json)."""
    model_config = settings.config.model(corpus_meta["vocab_size"])
    parameters = parameter_count(modes.Mode("dense").build(model_config))
    machine = checkout.machine(settings.device) + machine_note
    settings.log(f"{settings.config} on {machine}, {settings.dtype}, {parameters:,} parameters")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine,
        "device": settings.device.type, "torch": torch.__version__, "pammcuda": pammcuda.version(),
        "commit": checkout.commit(), "dtype": settings.dtype, "compiled": settings.compile, "seed": settings.seed,
        "config": dataclasses.asdict(settings.config), "vocab_size": corpus_meta["vocab_size"],
        "tokenizer": corpus_meta["tokenizer"], "parameters": parameters,
        "corpus": {split: corpus_meta[split] for split in ("train", "val")}, "runs": [],
    }

