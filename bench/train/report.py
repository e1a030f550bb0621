"""The results of a comparison as JSON (everything), a Markdown table (the headline figures) and a PNG of the losses."""

import json
import math
import statistics

import figures
import memory


def _bytes(value):
    if value is None:
        return "—"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value} B"


def _relative(value, reference):
    if value is None or reference in (None, 0):
        return ""
    return f" ({100 * (value / reference - 1):+.1f} %)"


def _last_probe(run):
    """Mean relative error and norm ratio of the Q/K/V (or all PAMM) weight gradients at the last probed step."""
    if not run["gradient_probes"]:
        return "—", "—"
    last = run["gradient_probes"][-1]
    errors = [g["relative_error"] for g in last["gradients"]]
    ratios = [g["norm_ratio"] for g in last["gradients"]]
    return f"{statistics.mean(errors):.3f} (step {last['step']})", f"{statistics.mean(ratios):.3f}"


def _qkv_kept(run):
    kept = f"{_bytes(run['qkv_input_bytes_dense'])} → {_bytes(run['qkv_input_bytes_stored'])}"
    if run["qkv_input_bytes_stored"] and run["qkv_input_bytes_stored"] != run["qkv_input_bytes_dense"]:
        kept += f" ({run['qkv_input_bytes_dense'] / run['qkv_input_bytes_stored']:.0f}× less)"
    return kept


def memory_table(results):
    """The table of a memory-only record (train.py --memory-only): what one step of each mode keeps for backward."""
    dense = next((r for r in results["runs"] if r["kind"] == "dense"), None)
    lines = ["| mode | k | kept for backward | step peak (CUDA) | Q/K/V inputs kept (dense → stored) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for run in results["runs"]:
        saved, peak = run["saved_for_backward_bytes"], run["step_peak_bytes"]
        lines.append(f"| {run['mode']} | {run['k'] or '—'} | "
                     f"{_bytes(saved)}{_relative(saved, dense and dense['saved_for_backward_bytes'])} | "
                     f"{_bytes(peak)}{_relative(peak, dense and dense['step_peak_bytes'])} | {_qkv_kept(run)} |")
    return "\n".join(lines)


def parts_table(results):
    """Where each mode's kept-for-backward bytes go, by part of the model (memory.PARTS), per token of a step."""
    runs = [r for r in results["runs"] if r.get("saved_by_part")]  # absent from results recorded before it was counted
    if not runs:
        return ""
    tokens = results["config"]["tokens_per_step"]
    parts = [label for _, label in memory.PARTS if any(label in r["saved_by_part"] for r in runs)]
    lines = ["| bytes kept a token | " + " | ".join(r["mode"] for r in runs) + " |", "| --- |" + " ---: |" * len(runs)]
    for part in parts + ["all"]:
        cells = []
        for run in runs:
            value = run["saved_for_backward_bytes"] if part == "all" else run["saved_by_part"].get(part)
            cells.append("—" if value is None else f"{value / tokens:,.0f}")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results):
    """The headline table of a record, whichever kind it is."""
    return memory_table(results) if results.get("memory_only") else markdown_table(results)


def markdown_table(results):
    runs = results["runs"]
    dense = next((r for r in runs if r["kind"] == "dense"), None)
    lines = [
        "| mode | k | val loss | perplexity | bits/byte | tokens/s | peak memory | kept for backward "
        "| Q/K/V inputs kept (dense → stored) | grad. rel. error | grad. norm ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        error, ratio = _last_probe(run)
        rate = run["tokens_per_second"]
        saved = run.get("saved_for_backward_bytes")  # absent from results recorded before it was measured
        lines.append(
            f"| {run['mode']} | {run['k'] or '—'} | {run['val_loss']:.4f} | "
            f"{run['val_perplexity']:.3f}{_relative(run['val_perplexity'], dense and dense['val_perplexity'])} | "
            f"{run['val_bits_per_byte']:.4f} | "
            f"{'—' if rate is None else f'{rate:,.0f}'}{_relative(rate, dense and dense['tokens_per_second'])} | "
            f"{_bytes(run['peak_memory_bytes'])}{_relative(run['peak_memory_bytes'], dense and dense['peak_memory_bytes'])} | "
            f"{_bytes(saved)}{_relative(saved, dense and dense.get('saved_for_backward_bytes'))} | "
            f"{_qkv_kept(run)} | {error} | {ratio} |")
    return "\n".join(lines)


def validation_curve_table(results):
    """
    Validation loss through training (train.py --eval-every) of every run that has a curve, each step a row, with each
    PAMM-like run's perplexity against dense's at the same step. "" when no run has more than its final point.
    """
    runs = [r for r in results["runs"] if len(r.get("val_curve") or []) > 1]
    if not runs:
        return ""
    dense = next((r for r in runs if r["kind"] == "dense"), None)
    dense_at = {point["step"]: point for point in dense["val_curve"]} if dense else {}
    steps = sorted({point["step"] for run in runs for point in run["val_curve"]})
    lines = ["| step | " + " | ".join(f"{run['mode']} val loss" for run in runs) + " |", "| ---: |" + " ---: |" * len(runs)]
    for step in steps:
        cells = []
        for run in runs:
            point = next((p for p in run["val_curve"] if p["step"] == step), None)
            reference = dense_at.get(step) if run is not dense else None
            cells.append("—" if point is None else f"{point['val_loss']:.4f}"
                         + _relative(point["val_perplexity"], reference and reference["val_perplexity"]))
        lines.append(f"| {step:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


PERPLEXITY_GOAL = 0.01
"""Issue 11's quality goal: PAMM's validation perplexity within 1 % of dense's at equal steps."""


def goals_table(results):
    """
    Each PAMM run (kind pamm) of a training record against the project's goals for it, beside dense: perplexity within
    PERPLEXITY_GOAL above dense's or lower (#11), a peak at least the dense Q/K/V input bytes below dense's (#11, CUDA only) and
    tokens/s at least dense's (#14). "" where the record has no dense run or no PAMM run.
    """
    runs = results["runs"]
    dense = next((r for r in runs if r["kind"] == "dense"), None)
    pamm_runs = [r for r in runs if r["kind"] == "pamm"]
    if results.get("memory_only") or dense is None or not pamm_runs:
        return ""

    def verdict(met):
        return "met" if met else "**not met**"

    lines = ["| mode | perplexity against dense (goal: within 1 %) | peak memory against dense (goal: at least "
             f"{_bytes(dense['qkv_input_bytes_dense'])} less, the dense Q/K/V inputs) | tokens/s against dense "
             "(goal: at least equal) |", "| --- | --- | --- | --- |"]
    for run in pamm_runs:
        perplexity = run["val_perplexity"] / dense["val_perplexity"] - 1
        # Within 1 % means at most 1 % above: a lower perplexity than dense's meets it too.
        cells = [f"{100 * perplexity:+.2f} %: {verdict(perplexity <= PERPLEXITY_GOAL)}"]
        if run["peak_memory_bytes"] is None or dense["peak_memory_bytes"] is None:
            cells.append("— (measured on CUDA only)")
        else:
            less = dense["peak_memory_bytes"] - run["peak_memory_bytes"]
            cells.append(f"{_bytes(less)} less: {verdict(less >= dense['qkv_input_bytes_dense'])}" if less >= 0 else
                         f"{_bytes(-less)} more: {verdict(False)}")
        rate, dense_rate = run["tokens_per_second"], dense["tokens_per_second"]
        cells.append("—" if rate is None or not dense_rate else
                     f"{100 * (rate / dense_rate - 1):+.1f} %: {verdict(rate >= dense_rate)}")
        lines.append(f"| {run['mode']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_KEPT_FOR_BACKWARD = (
    "Kept for backward: every tensor one step's forward pass saves for its backward (each storage once; parameters "
    "and buffers left out; the block inputs that checkpointing keeps), on any device: the activation memory the modes "
    "differ in. Q/K/V inputs kept: bytes the three projections of every block keep for backward in one step, the "
    "input counted once in the dtype the matmul reads (PAMM: the size of its storage tensors); under autocast each "
    "dense projection keeps a bf16 copy of its own, so dense keeps three and the step's saving is larger than this "
    "column's difference.")


def markdown(results):
    config = results["config"]
    runs = results["runs"]
    memory_only = results.get("memory_only", False)
    title = "What a training step keeps for backward" if memory_only else "Training with PAMM"
    step = (f"{config['tokens_per_step']:,} tokens per step; one forward pass of each mode from the same weights on the "
            "same batch, nothing trained." if memory_only else
            f"{config['tokens_per_step']:,} tokens per step, {runs[0]['steps']} steps, AdamW at {config['lr']:g} with "
            "warm-up and cosine decay.")
    header = [
        f"# {title}: {results['machine']}, {results['date']}",
        "",
        f"Commit `{results['commit']}`, torch {results['torch']}, pammcuda {results['pammcuda']}, {results['device']}, "
        f"{results['dtype']}{', torch.compile' if results.get('compiled') else ''}, seed {results['seed']}.",
        f"Model: d {config['d_model']}, {config['n_layers']} layers, {config['n_heads']} heads, SwiGLU {config['d_ff']}, "
        f"context {config['context']}, {results['parameters']:,} parameters ({results['tokenizer']} tokens, vocabulary "
        f"{results['vocab_size']}). {step}",
    ]
    if not memory_only:
        header.append(
            f"Data: the Linux kernel's documentation (Debian's linux-doc-6.1), {results['corpus']['train']['files']} "
            f"training files, validation on the first {runs[0]['val_tokens']:,} tokens of the "
            f"{results['corpus']['val']['files']} other files (in path order).")
    if memory_only:
        notes = ["", _KEPT_FOR_BACKWARD + " Step peak (CUDA only): `torch.cuda.max_memory_allocated()` during one forward "
                 "and backward pass above what was allocated before it (the second of two, gradients included)."]
    else:
        notes = ["", (
            "Tokens/s: whole steps (forward, backward, optimizer) after warm-up, gradient probes left out. Peak memory: "
            "`torch.cuda.max_memory_allocated()` over the same steps (weights, gradients and AdamW state included; the "
            "probes' dense twin, its activations and gradients left out); "
            "PAMM's compressed inputs and its scratch are torch tensors from the caching allocator, so they are in that "
            f"figure. {_KEPT_FOR_BACKWARD} Gradient error: ‖∇W̃ − ∇W‖/‖∇W‖ of the PAMM layers' weights against the "
            "exact gradient on the same batch, averaged over layers, and ‖∇W̃‖/‖∇W‖ (below 1: PAMM's gradient is "
            "shorter).")]
    goals = goals_table(results)
    if goals:
        notes += ["", "The goals for PAMM (issues 11 and 14; set for llama-60m in bf16 on a GPU, a direction elsewhere):",
                  "", goals]
    curve = validation_curve_table(results)
    if curve:
        notes += ["", "Validation loss through the run (`--eval-every`; in brackets, perplexity against dense's at the same "
                  "step; every point but the last lies inside the learning-rate schedule, not at its end):", "", curve]
    parts = parts_table(results)
    if parts:
        notes += ["", "Where the bytes kept for backward go: each storage charged to the part of the model whose forward "
                  "saved it first, in bytes per token of a step (`memory.PARTS`).", "", parts]
    return "\n".join(header + ["", table(results)] + notes) + "\n"


def plot(results, path):
    with figures.figure_at(path, (8, 5)) as (_, axis):
        for run in results["runs"]:
            losses = run["train_loss"]
            window = max(1, len(losses) // 50)
            smoothed = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1])
                        for i in range(len(losses))]
            line, = axis.plot(range(1, len(losses) + 1), smoothed, label=f"{run['mode']} (val {run['val_loss']:.3f})")
            curve = run.get("val_curve") or [{"step": len(losses), "val_loss": run["val_loss"]}]
            axis.plot([p["step"] for p in curve], [p["val_loss"] for p in curve], color=line.get_color(), marker="o",
                      linestyle=":")
        finite = [min(r["train_loss"]) for r in results["runs"] if math.isfinite(min(r["train_loss"]))]
        if finite:
            axis.set_ylim(min(finite) * 0.95, min(finite) * 1.8)
        axis.set_xlabel("step")
        axis.set_ylabel("training loss (nats/token), dots: validation")
        axis.set_title(f"{results['parameters'] / 1e6:.1f}M parameters, {results['config']['tokens_per_step']:,} tokens/step, "
                       f"{results['machine']}", fontsize=9)


def write(results, folder, stem, plot_losses=True):
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{stem}.json", folder / f"{stem}.md"]
    written[0].write_text(json.dumps(results, indent=1) + "\n")
    written[1].write_text(markdown(results))
    if plot_losses and not results.get("memory_only"):
        try:
            plot(results, folder / f"{stem}.png")
            written.append(folder / f"{stem}.png")
        except ImportError:
            print("matplotlib is not installed: no PNG (apt-get install python3-matplotlib)")
    return written
