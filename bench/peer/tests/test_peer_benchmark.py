"""The benchmark command on the CPU at tiny shapes: what it writes, what it checks, and how it refuses bad flags."""

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import torch

import checkout
import peer_benchmark
import torch_pamm

SCRIPT = pathlib.Path(peer_benchmark.__file__).resolve()
TINY = ["--device", "cpu", "--tokens", "256", "--widths", "16", "--ratio", "1/16", "--repeats", "2", "--warmup", "1"]
ROW_KEYS = {"method", "compress_us", "product_us", "layer_us", "relative_errors", "relative_error", "error_limit",
            "check", "stored_bytes", "g_read_gbps", "read_floor_percent", "product_vs_exact", "layer_vs_exact",
            "product_vs_peer", "layer_vs_peer"}
PAMMCUDA, UNAVAILABLE = checkout.load_pammcuda(torch.device("cpu"))


def run_in_process(arguments):
    """main(arguments) with its output captured: (exit status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = peer_benchmark.main(arguments)
        except SystemExit as exit:
            status = exit.code
    return status, stdout.getvalue(), stderr.getvalue()


class EndToEndTest(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory(prefix="peer-benchmark-")
        self.addCleanup(folder.cleanup)
        self.out = pathlib.Path(folder.name)

    def written(self):
        markdown = sorted(self.out.glob("*-peer-*.md"))
        records = sorted(self.out.glob("*-peer-*.json"))
        self.assertEqual((len(markdown), len(records)), (1, 1), sorted(p.name for p in self.out.iterdir()))
        self.assertEqual(markdown[0].stem, records[0].stem)
        return markdown[0].read_text(), json.loads(records[0].read_text())

    @unittest.skipIf(PAMMCUDA is None, f"pammcuda cannot run here: {UNAVAILABLE}")
    def test_the_command_writes_every_method_and_column(self):
        environment = dict(os.environ, PAMM_COMMIT="cafe12345678")
        completed = subprocess.run(
            [sys.executable, str(SCRIPT), *TINY, "--dtypes", "float32", "bfloat16", "--out", str(self.out)],
            capture_output=True, text=True, env=environment, timeout=120)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        markdown, record = self.written()

        self.assertEqual(record["commit"], "cafe12345678")
        self.assertEqual(record["torch"], torch.__version__)
        self.assertEqual(record["device"], "cpu")
        self.assertTrue(record["machine"])
        self.assertRegex(record["date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
        self.assertEqual(record["pammcuda"]["version"], PAMMCUDA.version())
        self.assertEqual([(c["tokens"], c["width"], c["dtype"], c["k"]) for c in record["cases"]],
                         [(256, 16, "float32", 16), (256, 16, "bfloat16", 16)])
        for case in record["cases"]:
            self.assertEqual([r["method"] for r in case["results"]], ["peer", "pammcuda", "exact"])
            for row in case["results"]:
                self.assertEqual(set(row), ROW_KEYS)
                self.assertEqual(row["check"], "ok")
                self.assertEqual(len(row["relative_errors"]), 3)
                self.assertGreater(row["product_us"], 0)
                self.assertGreater(row["layer_us"], 0)
            peer, ours, exact = case["results"]
            self.assertIsNone(exact["compress_us"])
            self.assertEqual(exact["product_vs_exact"], 1.0)
            self.assertEqual(peer["layer_vs_peer"], 1.0)
            # PAMM's errors are about the data's noise level (0.1); the exact product's are its dtype's rounding.
            self.assertLess(max(peer["relative_error"], ours["relative_error"]), 0.3)
            self.assertLess(exact["relative_error"], peer_benchmark.EXACT_TOLERANCE[getattr(torch, case["dtype"])])
            self.assertEqual(exact["stored_bytes"], 256 * 16 * (4 if case["dtype"] == "float32" else 2))  # X itself
            self.assertLess(ours["stored_bytes"], exact["stored_bytes"])

        header = markdown.splitlines()[0]
        self.assertIn(record["machine"], header)
        self.assertIn("`cafe12345678`", markdown)
        table = [line for line in markdown.splitlines() if line.startswith("| 256 |")]
        self.assertEqual(len(table), 6)
        columns = peer_benchmark.TABLE_HEADER[0].count("|") - 1
        self.assertTrue(all(line.count("|") - 1 == columns for line in table))
        self.assertIn("r = 1/16", markdown)

    def test_a_wrong_result_fails_the_run_after_writing_it(self):
        def zero_product(compressed, grad):
            return torch.zeros(grad.shape[1], compressed.generators.shape[1], dtype=grad.dtype)

        with mock.patch.object(torch_pamm, "approx_matmul", zero_product):
            status, _, stderr = run_in_process(TINY + ["--dtypes", "float32", "--skip-pammcuda", "--out", str(self.out)])
        self.assertEqual(status, 1)
        self.assertIn("WRONG 256x16 float32 peer: error 1", stderr)
        markdown, record = self.written()
        self.assertEqual([r["check"] for r in record["cases"][0]["results"]], ["WRONG", "ok"])
        self.assertIn("| WRONG |", markdown)

    def test_skip_pammcuda_times_the_peer_and_the_exact_product(self):
        status, stdout, _ = run_in_process(TINY + ["--dtypes", "bfloat16", "--skip-pammcuda", "--out", str(self.out)])
        self.assertEqual(status, 0)
        _, record = self.written()
        self.assertIsNone(record["pammcuda"])
        self.assertEqual([r["method"] for r in record["cases"][0]["results"]], ["peer", "exact"])
        self.assertIn("wrote ", stdout)

    def test_a_library_that_does_not_load_stops_before_any_work(self):
        environment = dict(os.environ, PAMMCUDA_LIB=str(self.out / "missing.so"))
        completed = subprocess.run([sys.executable, str(SCRIPT), *TINY, "--out", str(self.out)],
                                   capture_output=True, text=True, env=environment, timeout=120)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("pammcuda cannot run: cannot load libpammcuda.so", completed.stderr)
        self.assertIn("--skip-pammcuda", completed.stderr)
        self.assertEqual(list(self.out.iterdir()), [])


class ArgumentTest(unittest.TestCase):
    def assertRefused(self, arguments, message):
        status, _, stderr = run_in_process(arguments)
        self.assertEqual(status, 2, stderr)
        self.assertIn(message, stderr)

    def test_bad_values_exit_2_naming_the_flag(self):
        cases = [
            (["--ratio", "0"], "--ratio must be in (0, 1], got 0.0"),
            (["--ratio", "2"], "--ratio must be in (0, 1]"),
            (["--ratio", "1/0"], "not a number or fraction: '1/0'"),
            (["--ratio", "half"], "not a number or fraction: 'half'"),
            (["--tokens", "0"], "--tokens must be positive"),
            (["--widths", "64", "-1"], "--widths must be positive"),
            (["--tokens", "many"], "argument --tokens: invalid int value"),
            (["--dtypes", "int8"], "argument --dtypes: invalid choice: 'int8'"),
            (["--epsilon", "-1"], "--epsilon must be >= 0"),
            (["--epsilon", "nan"], "--epsilon must be >= 0"),
            (["--repeats", "0"], "--repeats must be at least 1"),
            (["--warmup", "-1"], "--warmup must be >= 0"),
            (["--max-error", "0"], "--max-error must be positive"),
            (["--noise", "-0.5"], "--noise must be >= 0"),
            (["--shapes", "1"], "unrecognized arguments: --shapes 1"),
        ]
        for arguments, message in cases:
            with self.subTest(arguments=arguments):
                self.assertRefused(arguments, message)

    @unittest.skipIf(torch.cuda.is_available(), "torch sees a GPU here")
    def test_cuda_without_a_gpu_is_refused(self):
        self.assertRefused(["--device", "cuda"], "--device cuda: torch sees no CUDA device")

    def test_quick_and_default_shapes(self):
        quick, _ = peer_benchmark.parse_settings(["--quick"])
        self.assertEqual((quick.tokens, quick.widths), (peer_benchmark.QUICK_TOKENS, peer_benchmark.QUICK_WIDTHS))
        paper, _ = peer_benchmark.parse_settings([])
        self.assertEqual((paper.tokens, paper.widths), ((16384, 65536), (768, 2048, 4096)))
        self.assertEqual(paper.dtypes, (torch.bfloat16, torch.float32))
        self.assertEqual(paper.ratio, 1 / 512)
        explicit, _ = peer_benchmark.parse_settings(["--quick", "--widths", "4096"])
        self.assertEqual((explicit.tokens, explicit.widths), (peer_benchmark.QUICK_TOKENS, (4096,)))


class RecordTest(unittest.TestCase):
    def test_result_names_carry_date_and_device(self):
        import datetime
        now = datetime.datetime(2026, 12, 1, 20, 5, tzinfo=datetime.timezone.utc)
        stem = peer_benchmark.result_stem({"machine": "NVIDIA H200 NVL"}, now)
        self.assertEqual(stem, "2026-12-01-2005-peer-nvidia-h200-nvl")
        self.assertEqual(peer_benchmark.result_stem({"machine": "AMD EPYC 7B13, 2 threads"}, now),
                         "2026-12-01-2005-peer-amd-epyc-7b13")

    def test_commit_prefers_the_environment(self):
        with mock.patch.dict(os.environ, {"PAMM_COMMIT": "0123456789ab"}):
            self.assertEqual(peer_benchmark.git_commit(), "0123456789ab")
        with mock.patch.dict(os.environ, {"PAMM_COMMIT": ""}):
            self.assertRegex(peer_benchmark.git_commit(), r"^([0-9a-f]{12}|unknown)$")

    def test_the_wall_timer_keeps_the_median(self):
        clock = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])  # three timed calls of 5, 1 and 3 s, after one warm-up
        calls = []
        with mock.patch.object(peer_benchmark.time, "perf_counter", lambda: next(clock)):
            median = peer_benchmark.WallTimer().median_us(lambda: calls.append(1), 1, 3)
        self.assertEqual(len(calls), 4)
        self.assertEqual(median, 3.0e6)


if __name__ == "__main__":
    unittest.main()
