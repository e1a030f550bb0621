"""The command end to end on a model small enough for seconds: every mode, every output file, bad arguments."""

import contextlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest
import unittest.mock

import corpus
import train

SMALL = ["--d-model", "32", "--layers", "1", "--heads", "2", "--d-ff", "64", "--context", "32", "--tokens-per-step", "256",
         "--val-tokens", "2048", "--warmup-steps", "2", "--log-every", "2", "--device", "cpu"]


@unittest.skipUnless((corpus.DEFAULT_DIR / "bytes" / "meta.json").exists(),
                     "the corpus is not prepared (python3 bench/train/corpus.py; scripts/bench-python-tests.sh does it)")
class CommandTest(unittest.TestCase):
    def setUp(self):
        self.folder = pathlib.Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.folder)

    def run_command(self, *arguments):
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            train.main(list(arguments) + SMALL + ["--out", str(self.folder), "--name", "run"])
        return output.getvalue()

    def test_every_mode_trains_and_reports(self):
        output = self.run_command("--modes", "dense,pamm,crs,checkpoint,pamm-all,pamm:k=4:alpha=bf16", "--steps", "4",
                                  "--probe-steps", "2,4")
        results = json.loads((self.folder / "run.json").read_text())
        self.assertEqual([r["mode"] for r in results["runs"]],
                         ["dense", "pamm", "crs", "checkpoint", "pamm-all", "pamm:k=4:alpha=bf16"])
        for run in results["runs"]:
            self.assertEqual(len(run["train_loss"]), 4)
            self.assertEqual(run["steps"], 4)
            self.assertGreater(run["tokens_per_second"], 0)
            self.assertIsNone(run["peak_memory_bytes"])  # no CUDA here: no figure rather than a wrong one
        by_mode = {r["mode"]: r for r in results["runs"]}
        self.assertEqual(by_mode["pamm"]["k"], 1)      # round(256 / 512) clamped to 1
        self.assertEqual(by_mode["pamm:k=4:alpha=bf16"]["k"], 4)
        self.assertEqual(by_mode["pamm:k=4:alpha=bf16"]["pamm"]["alpha_dtype"], "bf16")
        self.assertEqual(by_mode["pamm"]["pamm"]["alpha_dtype"], "f32")
        self.assertEqual([p["step"] for p in by_mode["pamm"]["gradient_probes"]], [2, 4])
        self.assertEqual(len(by_mode["pamm"]["gradient_probes"][0]["gradients"]), 3)       # q, k, v of one layer
        self.assertEqual(len(by_mode["pamm-all"]["gradient_probes"][0]["gradients"]), 6)   # + out, gate_up, down
        self.assertEqual(by_mode["dense"]["gradient_probes"], [])
        # Same weights, batches and seeds: dense and checkpoint train identically.
        self.assertEqual(by_mode["dense"]["train_loss"][0], by_mode["checkpoint"]["train_loss"][0])
        self.assertAlmostEqual(by_mode["dense"]["val_loss"], by_mode["checkpoint"]["val_loss"], places=4)
        self.assertLess(by_mode["pamm"]["qkv_input_bytes_stored"], by_mode["pamm"]["qkv_input_bytes_dense"])
        # A float32 step keeps less by exactly what the Q/K/V inputs shrink by; checkpointing keeps least of all.
        saved = {mode: run["saved_for_backward_bytes"] for mode, run in by_mode.items()}
        pamm = by_mode["pamm"]
        self.assertEqual(saved["dense"] - saved["pamm"], pamm["qkv_input_bytes_dense"] - pamm["qkv_input_bytes_stored"])
        self.assertLess(saved["checkpoint"], saved["pamm-all"])
        self.assertLess(saved["pamm-all"], saved["pamm"])
        markdown = (self.folder / "run.md").read_text()
        for mode in by_mode:
            self.assertIn(f"| {mode} |", markdown)
        self.assertIn("The goals for PAMM", markdown)
        self.assertRegex(markdown, r"\| pamm:k=4:alpha=bf16 \| [-+][0-9.]+ %: (met|\*\*not met\*\*) \| — \(measured on CUDA only\)")
        self.assertIn("| mode |", output)
        # Progress: no rate during the warm-up (steps 1-2), then one over the whole steps since.
        self.assertRegex(output, r"pamm step +2 +loss [0-9.]+ +tokens/s after warm-up")
        self.assertRegex(output, r"pamm step +4 +loss [0-9.]+ +[1-9][0-9,]* tokens/s")
        self.assertNotRegex(output, r"-[0-9,]+ tokens/s")
        try:
            import matplotlib  # noqa: F401
            self.assertGreater((self.folder / "run.png").stat().st_size, 1000)
        except ImportError:
            pass

    def test_a_validation_curve_is_recorded_and_tabled(self):
        output = self.run_command("--modes", "dense,pamm", "--steps", "4", "--eval-every", "2", "--probe-steps", "none", "--no-plot")
        results = json.loads((self.folder / "run.json").read_text())
        for run in results["runs"]:
            self.assertEqual([point["step"] for point in run["val_curve"]], [2, 4])
            self.assertEqual(run["val_curve"][-1]["val_loss"], run["val_loss"])
        self.assertRegex(output, r"pamm step +2 +val loss [0-9.]+")
        markdown = (self.folder / "run.md").read_text()
        self.assertIn("| step | dense val loss | pamm val loss |", markdown)
        self.assertRegex(markdown, r"\| 2 \| [0-9.]+ \| [0-9.]+ \([-+][0-9.]+ %\) \|")

    def test_compiled_training_follows_the_eager_losses(self):
        import torch
        if not hasattr(torch, "compile"):
            self.skipTest(f"torch.compile needs PyTorch >= 2.0; this is {torch.__version__}")
        try:  # Inductor needs a C++ compiler and torch's headers on the CPU: without them it is the host's lack, not ours
            torch.compile(lambda t: t * 2 + 1, fullgraph=True)(torch.ones(4))
        except Exception as error:
            self.skipTest(f"Inductor cannot build code for the CPU here ({type(error).__name__}: {str(error).strip()[:200]})")
        # r = 1: every row a generator, so PAMM's gradient is exact whatever rows the compiled graph's own random
        # numbers sample, and the compiled runs must follow the eager ones up to float32 reassociation.
        arguments = ("--modes", "dense,pamm:r=1,checkpoint", "--steps", "3", "--probe-steps", "none", "--no-plot")
        self.run_command(*arguments)
        eager = json.loads((self.folder / "run.json").read_text())
        import torch._dynamo
        torch._dynamo.reset()
        counters = torch._dynamo.utils.counters
        counters.clear()
        output = self.run_command(*arguments, "--compile")
        compiled = json.loads((self.folder / "run.json").read_text())
        # One whole graph per mode: PammQKV's ops and checkpointing trace without a graph break or a recompilation.
        self.assertEqual(counters["stats"]["unique_graphs"], 3)
        self.assertEqual(dict(counters["graph_break"]), {})
        self.assertFalse(eager["compiled"])
        self.assertTrue(compiled["compiled"])
        self.assertIn("fp32, torch.compile, seed 0", (self.folder / "run.md").read_text())
        for ours, reference in zip(compiled["runs"], eager["runs"]):
            with self.subTest(mode=ours["mode"]):
                self.assertEqual(ours["mode"], reference["mode"])
                for step, (loss, expected) in enumerate(zip(ours["train_loss"], reference["train_loss"]), 1):
                    self.assertAlmostEqual(loss, expected, delta=1e-4 * expected, msg=f"step {step}")
                self.assertAlmostEqual(ours["val_loss"], reference["val_loss"], delta=1e-4 * reference["val_loss"])
        self.assertRegex(output, r"pamm:r=1 step +2 +loss")

    def test_time_budget_fixes_one_step_count_for_every_mode(self):
        self.run_command("--modes", "dense,pamm", "--time-budget", "1", "--probe-steps", "none", "--no-plot")
        results = json.loads((self.folder / "run.json").read_text())
        steps = {r["steps"] for r in results["runs"]}
        self.assertEqual(len(steps), 1)
        self.assertGreaterEqual(steps.pop(), 1)

    def test_modes_side_by_side_give_what_one_process_gives_with_as_many_threads(self):
        import training
        self.run_command("--modes", "dense,pamm,crs", "--steps", "3", "--probe-steps", "3", "--jobs", "2", "--no-plot")
        side_by_side = json.loads((self.folder / "run.json").read_text())
        threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, len(os.sched_getaffinity(0)) // 2))
        # The one process to compare with is a new one that starts with that many threads in every library, as each
        # worker does: OpenBLAS reads its thread count once, as it loads, and rounds some products differently with one
        # thread and two (PAMM's Q/K/V projection, 32 by 96 here, but not dense's 32 by 32), so this test process, whose
        # OpenBLAS started with whatever its environment said, would compare two thread counts where OMP_NUM_THREADS is
        # unset (as on a GPU host).
        command = [sys.executable, str(pathlib.Path(train.__file__)), "--modes", "dense,pamm,crs", "--steps", "3",
                   "--probe-steps", "3", "--no-plot", *SMALL, "--out", str(self.folder), "--name", "one-process"]
        environment = dict(os.environ, **{name: str(threads) for name in training.THREAD_VARIABLES})
        finished = subprocess.run(command, env=environment, capture_output=True, text=True)
        self.assertEqual(finished.returncode, 0, finished.stderr)
        one_process = json.loads((self.folder / "one-process.json").read_text())
        self.assertIn("modes side by side", side_by_side["machine"])
        self.assertEqual([r["mode"] for r in side_by_side["runs"]], ["dense", "pamm", "crs"])
        for ours, reference in zip(side_by_side["runs"], one_process["runs"]):
            with self.subTest(mode=ours["mode"]):
                self.assertEqual(ours["train_loss"], reference["train_loss"])
                self.assertEqual(ours["val_loss"], reference["val_loss"])
                self.assertEqual(ours["gradient_probes"], reference["gradient_probes"])

    def test_a_run_stopped_after_a_mode_keeps_the_modes_that_finished(self):
        import training
        original, trained = training.train_one, []

        def stop_at_the_second_mode(mode, *arguments):
            if trained:
                raise KeyboardInterrupt("the visit's time limit")
            trained.append(mode.label)
            return original(mode, *arguments)

        training.train_one = stop_at_the_second_mode
        try:
            with self.assertRaises(KeyboardInterrupt):
                self.run_command("--modes", "dense,pamm", "--steps", "2", "--probe-steps", "none")
        finally:
            training.train_one = original
        results = json.loads((self.folder / "run.json").read_text())
        self.assertEqual([r["mode"] for r in results["runs"]], ["dense"])
        self.assertIn("| dense |", (self.folder / "run.md").read_text())

    @unittest.skipUnless(sys.platform.startswith("linux"), "workers follow the command through Linux's prctl")
    def test_side_by_side_workers_end_when_the_command_is_terminated(self):
        import os
        import signal
        import subprocess
        import time
        # Long enough that only the signal can end it: one worker per mode, both training when the command is killed.
        command = subprocess.Popen([sys.executable, train.__file__, "--modes", "dense,pamm", "--steps", "100000",
                                    "--probe-steps", "none", "--jobs", "2", "--no-plot"] + SMALL +
                                   ["--out", str(self.folder), "--name", "run"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(command.stdout.close)
        started = set()
        for line in command.stdout:  # both modes have logged a step: both workers are training
            started.update(mode for mode in ("dense", "pamm") if f"{mode} step" in line)
            if len(started) == 2:
                break
        workers = children(command.pid)
        self.assertGreaterEqual(len(workers), 2, "the command started no worker processes")
        command.send_signal(signal.SIGTERM)
        self.assertEqual(command.wait(timeout=30), -signal.SIGTERM)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(left, [], "workers kept training after the command was terminated")

    def test_memory_only_counts_one_step_of_each_mode_and_trains_nothing(self):
        output = self.run_command("--modes", "dense,pamm,checkpoint", "--memory-only", "--steps", "3")
        results = json.loads((self.folder / "run.json").read_text())
        self.assertTrue(results["memory_only"])
        by_mode = {r["mode"]: r for r in results["runs"]}
        self.assertEqual(list(by_mode), ["dense", "pamm", "checkpoint"])
        self.assertNotIn("train_loss", by_mode["dense"])
        self.assertIsNone(by_mode["dense"]["step_peak_bytes"])  # no CUDA here: no figure rather than a wrong one
        pamm = by_mode["pamm"]
        self.assertEqual(by_mode["dense"]["saved_for_backward_bytes"] - pamm["saved_for_backward_bytes"],
                         pamm["qkv_input_bytes_dense"] - pamm["qkv_input_bytes_stored"])
        self.assertEqual(pamm["k"], 1)
        self.assertLess(by_mode["checkpoint"]["saved_for_backward_bytes"], pamm["saved_for_backward_bytes"])
        self.assertNotRegex(output, r"step +[0-9]+ +loss")  # no training progress
        self.assertIn("| mode | k | kept for backward | step peak (CUDA) |", output)
        markdown = (self.folder / "run.md").read_text()
        self.assertIn("What a training step keeps for backward", markdown)
        self.assertIn("| checkpoint |", markdown)
        self.assertIn("| Q/K/V projections |", markdown)  # where the bytes go, by part of the model
        self.assertEqual(sum(by_mode["pamm"]["saved_by_part"].values()), by_mode["pamm"]["saved_for_backward_bytes"])
        self.assertFalse((self.folder / "run.png").exists())

    def test_bf16_training_is_refused_where_bf16_products_sum_in_bf16(self):
        # As under PyTorch 1.13 on the CPU: every weight gradient of a bf16 step would be far off, dense's too. Counting
        # bytes (--memory-only) needs no right values and goes on.
        with unittest.mock.patch.object(train.training, "bf16_product_error", lambda device: 0.49):
            with self.assertRaisesRegex(SystemExit, r"--dtype bf16: PyTorch .* on the cpu in bfloat16 .* came out 49% off"):
                self.run_command("--modes", "dense", "--steps", "2", "--dtype", "bf16")
            self.assertFalse((self.folder / "run.json").exists())  # refused before anything ran
            self.run_command("--modes", "dense,pamm", "--dtype", "bf16", "--memory-only")
            self.assertEqual(json.loads((self.folder / "run.json").read_text())["dtype"], "bf16")
        with unittest.mock.patch.object(train.training, "bf16_product_error", lambda device: 0.0015):
            self.run_command("--modes", "dense,pamm", "--steps", "2", "--dtype", "bf16", "--probe-steps", "none")
        results = json.loads((self.folder / "run.json").read_text())
        self.assertEqual((results["dtype"], [len(run["train_loss"]) for run in results["runs"]]), ("bf16", [2, 2]))

    def test_bad_arguments_exit_with_a_message(self):
        for arguments in (["--modes", "sparse"], ["--config", "huge"], ["--steps", "3", "--time-budget", "2"],
                          ["--jobs", "0"], ["--jobs", "2", "--time-budget", "5"], ["--jobs", "2", "--device", "cuda"],
                          ["--memory-only", "--jobs", "2"], ["--eval-every", "0"], ["--memory-only", "--eval-every", "2"]):
            with self.subTest(arguments=arguments), self.assertRaises(SystemExit), \
                    contextlib.redirect_stderr(io.StringIO()):
                train.main(arguments)


def process_state(pid):
    """/proc/pid/stat's fields after the command name (state, parent id, ...); OSError once the process is gone."""
    # The command name is in parentheses and may hold spaces: the fields follow the last ")".
    return (pathlib.Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def children(pid):
    """The process ids whose parent is pid."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int(process_state(entry.name)[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid):
    """Whether pid still runs (a zombie, dead but not yet reaped by its new parent, does not count)."""
    try:
        return process_state(pid)[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
