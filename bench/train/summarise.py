#!/usr/bin/env python3
"""
Several training comparisons (their JSON files) in one Markdown table: validation loss per mode and run, each
mode's gap to dense in the same run, and the mean and worst gap. This is how the quality test's bounds are derived.

    python3 bench/train/summarise.py bench/results/*-seed*.json > summary.md
    python3 bench/train/summarise.py --curve 50 bench/results/...-seed0.json     # the gap along training
    python3 bench/train/summarise.py --by-k gap.png bench/results/*-k-sweep-*.json  # the gap against k, and a plot

Files of one comparison (the same seed, model, step size, steps, dtype and data), such as a mode trained later beside
an earlier file's dense run, are joined first, so every mode is measured against the dense run of its own seed.
"""

import argparse
import collections
import json
import math
import statistics
import sys

import figures


def _comparison_key(results):
    """What makes two files' runs comparable: the same weights, batches and steps (train.py derives them from these)."""
    steps = {run["steps"] for run in results["runs"]}
    return (results.get("seed"), json.dumps(results.get("config"), sort_keys=True), results.get("dtype"),
            results.get("tokenizer"), json.dumps(results.get("corpus"), sort_keys=True), tuple(sorted(steps)))


def join_comparisons(all_results):
    """The files' comparisons with the runs of one comparison spread over several files joined, in the order given."""
    joined = {}
    for results in all_results:
        key = _comparison_key(results)
        if key not in joined:
            joined[key] = dict(results, runs=list(results["runs"]))
            continue
        modes = {run["mode"] for run in joined[key]["runs"]}
        for run in results["runs"]:
            if run["mode"] in modes:
                raise SystemExit(f"mode '{run['mode']}' of seed {results.get('seed')} is in two files of one comparison; "
                                 "give one of them")
            joined[key]["runs"].append(run)
    return list(joined.values())


def gaps_to_dense(results):
    """{mode: val_loss - dense's val_loss} of one comparison."""
    dense = next(r["val_loss"] for r in results["runs"] if r["kind"] == "dense")
    return {r["mode"]: r["val_loss"] - dense for r in results["runs"]}


def summary(all_results):
    modes = list(dict.fromkeys(r["mode"] for results in all_results for r in results["runs"]))
    lines = ["| run | " + " | ".join(modes) + " |", "| --- |" + " ---: |" * len(modes)]
    gaps = {mode: [] for mode in modes}
    for results in all_results:
        by_mode = {r["mode"]: r for r in results["runs"]}
        run_gaps = gaps_to_dense(results)
        cells = []
        for mode in modes:
            if mode not in by_mode:
                cells.append("")
                continue
            gaps[mode].append(run_gaps[mode])
            cells.append(f"{by_mode[mode]['val_loss']:.4f} ({run_gaps[mode]:+.4f})")
        lines.append(f"| seed {results['seed']}, {results['runs'][0]['steps']} steps | " + " | ".join(cells) + " |")
    lines.append("| mean gap to dense | " + " | ".join(f"{statistics.mean(g):+.4f}" if g else "" for g in gaps.values()) + " |")
    lines.append("| worst gap to dense | " + " | ".join(f"{max(g):+.4f}" if g else "" for g in gaps.values()) + " |")
    return "\n".join(lines) + "\n"


def curve(results, window=50):
    """Training loss per window of steps, each mode against dense's on the same batches: how the gap moves."""
    runs = results["runs"]
    dense = next(r for r in runs if r["kind"] == "dense")["train_loss"]
    ends = list(range(window, len(dense) + 1, window))
    lines = ["| mode | " + " | ".join(f"steps {end - window + 1}–{end}" for end in ends) + " |",
             "| --- |" + " ---: |" * len(ends)]
    for run in runs:
        cells = []
        for end in ends:
            mean = statistics.mean(run["train_loss"][end - window:end])
            gap = mean - statistics.mean(dense[end - window:end])
            cells.append(f"{mean:.4f}" if run["kind"] == "dense" else f"{mean:.4f} ({gap:+.4f})")
        lines.append(f"| {run['mode']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _method(run):
    """
    What a run with PAMM's sampling trains, without its k: 'pamm', 'crs', 'pamm-all', plus every non-default option
    (runs of one method are averaged together, so a method must name everything that changes what is trained;
    overlap_compression changes only which stream compresses, none of the values, so it is not named).
    """
    options = run["pamm"]
    label = run["kind"]
    if run["kind"] in ("pamm", "pamm-all") and math.isfinite(options["epsilon"]):
        label += f", eps {options['epsilon']:g}"
    if options.get("alpha_dtype", "f32") != "f32":
        label += f", alpha {options['alpha_dtype']}"
    if options.get("fused_projection"):
        label += ", fused"
    if options.get("refine_generators"):
        label += ", refined"
    # pamm-all's subset of layers, as the mode named it (none named: all of them).
    layers = next((option.partition("=")[2] for option in run["mode"].split(":") if option.startswith("layers=")), None)
    if layers:
        label += f", layers {layers}"
    return label


def gaps_by_k(all_results):
    """{(method, k, tokens per step): [val_loss - dense's, one per comparison]} over every run with PAMM's sampling."""
    gaps = collections.defaultdict(list)
    for results in all_results:
        run_gaps = gaps_to_dense(results)
        for run in results["runs"]:
            if run.get("k") is not None:
                gaps[(_method(run), run["k"], results["config"]["tokens_per_step"])].append(run_gaps[run["mode"]])
    return dict(sorted(gaps.items()))


def by_k(all_results):
    """The gap to dense against k: one row per method and k, over all the comparisons given (e.g. one per seed)."""
    lines = ["| method | k | r = k/b | runs | mean gap to dense (nats) | perplexity against dense | each run |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for (method, k, tokens), gaps in gaps_by_k(all_results).items():
        mean = statistics.mean(gaps)
        lines.append(f"| {method} | {k} | 1/{tokens / k:g} | {len(gaps)} | {mean:+.4f} | {math.expm1(mean):+.1%} | "
                     + ", ".join(f"{gap:+.4f}" for gap in gaps) + " |")
    return "\n".join(lines) + "\n"


def plot_by_k(all_results, path):
    """The gap to dense against k (log scale): a line for each method in each comparison (e.g. each seed)."""
    with figures.figure_at(path, (7, 4.5)) as (_, axis):
        for results in all_results:
            by_method = collections.defaultdict(dict)
            for (method, k, _), gaps in gaps_by_k([results]).items():
                by_method[method][k] = gaps[0]
            for method, gap_of in by_method.items():
                ks = sorted(gap_of)
                axis.plot(ks, [gap_of[k] for k in ks], marker="o", label=f"{method}, seed {results['seed']}")
        axis.axhline(0.0, color="black", linewidth=0.8)
        axis.set_xscale("log", base=2)
        axis.set_xlabel("k (generators per step)")
        axis.set_ylabel("validation loss - dense's (nats/token)")
        first = all_results[0]
        axis.set_title(f"{first['parameters'] / 1e6:.1f}M parameters, {first['config']['tokens_per_step']:,} tokens/step, "
                       f"{first['runs'][0]['steps']} steps", fontsize=9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSON files written by train.py")
    parser.add_argument("--curve", type=int, metavar="STEPS", help="instead: training loss per window of STEPS steps, "
                        "each mode against dense, for every file")
    parser.add_argument("--by-k", metavar="PNG", nargs="?", const="", help="instead: the gap to dense against k, one row "
                        "per method and k over all the files; with a file name, also a plot of it there")
    args = parser.parse_args(argv)
    all_results = []
    for path in args.results:
        with open(path) as file:
            all_results.append(json.load(file))
    all_results = join_comparisons(all_results)
    if not all(any(r["kind"] == "dense" for r in results["runs"]) for results in all_results):
        raise SystemExit("every comparison needs a dense run to measure gaps against")
    if args.by_k is not None:
        sys.stdout.write(by_k(all_results))
        if args.by_k:
            plot_by_k(all_results, args.by_k)
    elif args.curve:
        for results in all_results:
            sys.stdout.write(curve(results, args.curve))
    else:
        sys.stdout.write(summary(all_results))


if __name__ == "__main__":
    main()
