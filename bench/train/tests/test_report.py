"""The report's tables that judge and compare runs: computed from the record alone, exactly."""

import unittest

import report

MIB = 2**20


def run(mode, perplexity, peak_mib, tokens_per_second, kind=None):
    return {"mode": mode, "kind": kind or mode.split(":")[0], "val_perplexity": perplexity, "tokens_per_second": tokens_per_second,
            "peak_memory_bytes": None if peak_mib is None else peak_mib * MIB, "qkv_input_bytes_dense": 8 * MIB}


def record(*runs, memory_only=False):
    return {"runs": list(runs), **({"memory_only": True} if memory_only else {})}


class GoalsTableTest(unittest.TestCase):
    def test_each_pamm_run_against_each_goal(self):
        text = report.goals_table(record(
            run("dense", 10.0, 1000, 100.0),
            run("pamm", 10.05, 990, 100.0),               # +0.5 %, 10 MiB less, equal speed: all met
            run("pamm:fused", 10.2, 1005, 99.0),          # +2 %, 5 MiB more, slower: none met
            run("crs", 12.0, 990, 120.0),                 # not PAMM: no row
            run("checkpoint", 10.0, 500, 70.0)))
        lines = text.splitlines()
        self.assertEqual(len(lines), 2 + 2)
        self.assertIn("at least 8.0 MiB less, the dense Q/K/V inputs", lines[0])
        self.assertEqual(lines[2], "| pamm | +0.50 %: met | 10.0 MiB less: met | +0.0 %: met |")
        self.assertEqual(lines[3], "| pamm:fused | +2.00 %: **not met** | 5.0 MiB more: **not met** | -1.0 %: **not met** |")

    def test_the_bounds(self):
        text = report.goals_table(record(run("dense", 10.0, 1000, 100.0), run("pamm", 9.7, 992, 100.5),
                                         run("pamm:k=64", 10.099, 993, 100.0), run("pamm:k=32", 10.101, 1000, 100.0)))
        self.assertIn("| pamm | -3.00 %: met | 8.0 MiB less: met | +0.5 %: met |", text)      # better than dense meets it
        self.assertIn("| pamm:k=64 | +0.99 %: met | 7.0 MiB less: **not met** | +0.0 %: met |", text)
        self.assertIn("| pamm:k=32 | +1.01 %: **not met** | 0 B less: **not met** | +0.0 %: met |", text)

    def test_no_peak_off_cuda_and_no_table_without_a_comparison(self):
        text = report.goals_table(record(run("dense", 10.0, None, 100.0), run("pamm", 10.0, None, 90.0)))
        self.assertIn("| pamm | +0.00 %: met | — (measured on CUDA only) | -10.0 %: **not met** |", text)
        self.assertEqual(report.goals_table(record(run("dense", 10.0, None, 1.0), run("crs", 11.0, None, 1.0))), "")
        self.assertEqual(report.goals_table(record(run("pamm", 10.0, None, 1.0))), "")
        self.assertEqual(report.goals_table(record(run("dense", 10.0, 1, 1.0), run("pamm", 10.0, 1, 1.0), memory_only=True)), "")


def curve(mode, *points, kind=None):
    """A run with a validation curve of (step, perplexity) points."""
    import math
    return {"mode": mode, "kind": kind or mode.split(":")[0],
            "val_curve": [{"step": step, "val_loss": math.log(perplexity), "val_perplexity": perplexity} for step, perplexity in points]}


class ValidationCurveTableTest(unittest.TestCase):
    def test_each_step_a_row_and_each_run_against_dense_at_that_step(self):
        text = report.validation_curve_table(record(
            curve("dense", (500, 8.0), (1000, 5.0)),
            curve("pamm", (500, 8.8), (1000, 5.05)),
            curve("crs", (1000, 6.0))))                     # one point: no curve, no column
        lines = text.splitlines()
        self.assertEqual(lines[0], "| step | dense val loss | pamm val loss |")
        self.assertEqual(lines[1], "| ---: | ---: | ---: |")
        self.assertEqual(lines[2], "| 500 | 2.0794 | 2.1748 (+10.0 %) |")
        self.assertEqual(lines[3], "| 1,000 | 1.6094 | 1.6194 (+1.0 %) |")
        self.assertEqual(len(lines), 4)

    def test_steps_a_run_lacks_and_runs_without_dense(self):
        lines = report.validation_curve_table(record(curve("pamm", (2, 9.0), (4, 7.0)), curve("crs", (4, 8.0), (6, 7.5)))).splitlines()
        self.assertEqual(lines[2:], ["| 2 | 2.1972 | — |", "| 4 | 1.9459 | 2.0794 |", "| 6 | — | 2.0149 |"])
        self.assertEqual(report.validation_curve_table(record(curve("dense", (4, 9.0)), curve("pamm", (4, 9.5)))), "")
        self.assertEqual(report.validation_curve_table(record({"mode": "dense", "kind": "dense"})), "")  # recorded before curves


if __name__ == "__main__":
    unittest.main()
