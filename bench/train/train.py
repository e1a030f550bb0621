#!/usr/bin/env python3
"""
Train a LLaMA-style model with and without PAMM on the same data, weights and batches, and report validation
perplexity, tokens/s and peak memory side by side.

    python3 bench/train/train.py --config tiny --modes dense,pamm,crs --steps 300 --jobs 3   # CPU: modes side by side
    python3 bench/train/train.py --config llama-60m --modes dense,pamm,crs,checkpoint --time-budget 90 --dtype bf16
    python3 bench/train/train.py --config llama-130m --modes dense,pamm,checkpoint --dtype bf16 --memory-only

Modes: dense, pamm, crs (ε = 0: uniform column-row sampling), checkpoint (torch.utils.checkpoint per block),
pamm-all (PAMM on every linear layer of a block); `pamm:r=1/128`, `pamm:k=64`, `pamm:k=64:eps=0.5`, `pamm:alpha=bf16` change
PAMM's options for one run (alpha=bf16: its coefficients α in 2 bytes a token instead of 4; `pamm:fused`: on CUDA, Q, K, V
and the compression from one GEMM; `pamm:overlap`: on CUDA, each compression on a second stream beside its layer's GEMMs;
`pamm:refine`: refined generators; `pamm-all:layers=out+down`: PAMM on Q/K/V and only the named others of out,
gate_up, down). Every run starts from the same initial weights and sees the same batches.
Prepare the corpus once first: python3 bench/train/corpus.py
"""

import argparse
import dataclasses
import datetime
import pathlib
import re

import checkout

checkout.use_checkout()

import torch  # noqa: E402

import corpus  # noqa: E402
import modes  # noqa: E402
import report  # noqa: E402
import training  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=modes.CONFIGS, default="tiny", help="model and step size (default: %(default)s)")
    parser.add_argument("--modes", default="dense,pamm", help="comma-separated, e.g. dense,pamm,crs,checkpoint,pamm-all "
                        "or dense,pamm:r=1/128,pamm:k=64:eps=0.5 (default: %(default)s)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="training steps of every mode (default: 200)")
    length.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="the first mode trains for about this long; every other mode then runs as many steps")
    for name, kind in (("d-model", int), ("layers", int), ("heads", int), ("d-ff", int), ("context", int),
                       ("tokens-per-step", int), ("lr", float)):
        parser.add_argument(f"--{name}", type=kind, help="override the config's value")
    parser.add_argument("--ratio", type=modes.parse_ratio, default=1.0 / 512, help="PAMM's r = k/b (default: 1/512)")
    parser.add_argument("--k", type=int, default=0, help="PAMM's generator count (overrides --ratio)")
    parser.add_argument("--epsilon", type=float, default=float("inf"), help="PAMM's ε (default: inf)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, batches and PAMM's samples")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--jobs", type=int, default=1,
                        help="CPU only, with --steps: train up to this many modes side by side, each in a process of its own "
                             "with cores/jobs threads (each run is what a run with that many threads gives, sooner; "
                             "tokens/s then describe a shared machine) (default: %(default)s)")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default=None,
                        help="bf16 runs under torch.autocast with float32 weights (default: bf16 on CUDA, fp32 on CPU); refused for "
                             "training where bf16 products sum in bf16 (PyTorch 1.13 on the CPU)")
    parser.add_argument("--compile", action="store_true",
                        help="train through torch.compile (PyTorch >= 2.4: PAMM's layers trace without a graph break); "
                             "the first steps compile, inside the warm-up that tokens/s leaves out")
    parser.add_argument("--warmup-steps", type=int, default=None, help="LR warm-up, also left out of tokens/s (default: steps/10, at most 100)")
    parser.add_argument("--val-tokens", type=int, default=262144, help="tokens of the fixed validation set (default: %(default)s)")
    parser.add_argument("--probe-steps", default="auto", help="steps at which gradient errors are measured, e.g. 1,100,200 "
                        "('auto': first, middle and last; 'none')")
    parser.add_argument("--log-every", type=int, default=25, help="progress line every N steps (default: %(default)s)")
    parser.add_argument("--eval-every", type=int, default=None, metavar="N",
                        help="also validate every N steps, on the same windows, for the gap's course through one run "
                             "(left out of tokens/s and peak memory; the steps are the same without it)")
    parser.add_argument("--data", default=str(corpus.DEFAULT_DIR / "bytes"), help="prepared corpus folder (default: %(default)s)")
    parser.add_argument("--out", default=str(checkout.REPOSITORY / "bench" / "results"), help="folder for the JSON, Markdown and PNG")
    parser.add_argument("--name", help="file name stem of the results (default: DATE-train-CONFIG-cpu or -GPU-NAME)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--memory-only", action="store_true", help="train nothing: count what one step of each mode keeps "
                        "for backward (one forward pass each, on any device) and write that table")
    args = parser.parse_args(argv)
    if args.steps is None and args.time_budget is None:
        args.steps = 200
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: at least 1")
    if args.eval_every is not None and args.eval_every < 1:
        parser.error(f"--eval-every {args.eval_every}: at least 1")
    if args.eval_every is not None and args.memory_only:
        parser.error("--memory-only trains nothing; --eval-every is for training")
    if args.memory_only and args.jobs > 1:
        parser.error("--memory-only runs one forward pass per mode; --jobs is for training")
    if args.compile and args.memory_only:
        parser.error("--memory-only counts what an eager step keeps; --compile is for training")
    if args.compile and not hasattr(torch, "compile"):
        parser.error(f"--compile needs torch.compile (PyTorch >= 2.0); this is {torch.__version__}")
    if args.jobs > 1 and args.time_budget is not None:
        parser.error("--jobs runs every mode for --steps; a --time-budget is measured on the first mode alone")
    if args.jobs > 1 and (args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())):
        parser.error("--jobs trains the modes side by side on the CPU; on a GPU they would share the device and distort "
                     "its tokens/s and peak memory (use --device cpu, or leave --jobs out)")
    return args


def resolve_config(args):
    config = modes.CONFIGS[args.config]
    overrides = {"d_model": args.d_model, "n_layers": args.layers, "n_heads": args.heads, "d_ff": args.d_ff,
                 "context": args.context, "tokens_per_step": args.tokens_per_step, "lr": args.lr}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if config.tokens_per_step % config.context:
        raise SystemExit(f"--tokens-per-step {config.tokens_per_step} is not a multiple of the context {config.context}")
    return config


def main(argv=None):
    args = parse_arguments(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          args.device if args.device != "auto" else "cpu")
    if device.type == "cpu":
        checkout.use_all_cores()
        checkout.keep_freed_memory()
    dtype = args.dtype or ("bf16" if device.type == "cuda" else "fp32")
    if dtype == "bf16" and not args.memory_only:
        error = training.bf16_product_error(device)
        if error > training.BF16_PRODUCT_TOLERANCE:
            raise SystemExit(f"train.py: error: --dtype bf16: PyTorch {torch.__version__} sums bfloat16 matrix products on "
                             f"the {device.type} in bfloat16 (one of 4,096 terms, shaped as a weight gradient, came out "
                             f"{error:.0%} off), so every weight gradient of a bf16 step, dense's too, would be far off; "
                             "train in fp32 here, or with PyTorch 2 (--memory-only counts bytes, not values, and takes "
                             "bf16 anywhere)")
    config = resolve_config(args)
    try:
        runs = [modes.parse_mode(text, args.ratio, args.k, args.epsilon) for text in args.modes.split(",") if text]
    except ValueError as error:
        raise SystemExit(f"train.py: error: {error}") from None
    settings = training.Settings(config=config, device=device, dtype=dtype, seed=args.seed, steps=args.steps,
                                 time_budget=args.time_budget, warmup_steps=args.warmup_steps, val_tokens=args.val_tokens,
                                 probe_steps=args.probe_steps, log_every=args.log_every, eval_every=args.eval_every,
                                 compile=args.compile)
    where = re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-") if device.type == "cuda" else "cpu"
    stem = args.name or f"{datetime.date.today().isoformat()}-{'memory' if args.memory_only else 'train'}-{args.config}-{where}"
    out = pathlib.Path(args.out)
    if args.memory_only:
        results = training.kept_by_mode(runs, corpus.load(args.data), settings)
        finish(results, report.write(results, out, stem))
        return
    # The JSON and table are rewritten after every run, so a run stopped early keeps the modes that finished.
    write_partial = lambda partial: report.write(partial, out, stem, plot_losses=False)
    if args.jobs > 1:
        results = training.compare_side_by_side(runs, args.data, settings, args.jobs, after_each_run=write_partial)
    else:
        results = training.compare(runs, corpus.load(args.data), settings, after_each_run=write_partial)
    finish(results, report.write(results, out, stem, plot_losses=not args.no_plot))


def finish(results, written):
    print(report.table(results))
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
