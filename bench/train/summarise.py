#!/usr/bin/env python3
"""
Several training comparisons (their JSON files) in one Markdown table: validation loss per mode and run, each
mode's gap to dense in the same run, and the mean and worst gap. This is how the quality test's bounds are derived.

    python3 bench/train/summarise.py bench/results/*-seed*.json > summary.md
    python3 bench/train/summarise.py --curve 50 bench/results/...-seed0.json     # the gap along training
"""

import argparse
import json
import statistics
import sys


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSON files written by train.py")
    parser.add_argument("--curve", type=int, metavar="STEPS", help="instead: training loss per window of STEPS steps, "
                        "each mode against dense, for every file")
    args = parser.parse_args(argv)
    all_results = []
    for path in args.results:
        with open(path) as file:
            all_results.append(json.load(file))
    if not all(any(r["kind"] == "dense" for r in results["runs"]) for results in all_results):
        raise SystemExit("every comparison needs a dense run to measure gaps against")
    if args.curve:
        for results in all_results:
            sys.stdout.write(curve(results, args.curve))
    else:
        sys.stdout.write(summary(all_results))


if __name__ == "__main__":
    main()
