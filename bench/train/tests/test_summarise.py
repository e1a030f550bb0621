"""The multi-run summary that the quality bounds are derived from."""

import math
import pathlib
import tempfile
import unittest

import summarise


def comparison(seed, losses):
    return {"seed": seed, "runs": [{"mode": mode, "kind": mode.split(":")[0], "val_loss": loss, "steps": 200}
                                   for mode, loss in losses.items()]}


class SummaryTest(unittest.TestCase):
    def test_gaps_mean_and_worst(self):
        text = summarise.summary([comparison(0, {"dense": 2.0, "pamm": 2.5, "crs": 3.0}),
                                  comparison(1, {"dense": 2.0, "pamm": 2.25})])
        self.assertIn("| seed 0, 200 steps | 2.0000 (+0.0000) | 2.5000 (+0.5000) | 3.0000 (+1.0000) |", text)
        self.assertIn("| seed 1, 200 steps | 2.0000 (+0.0000) | 2.2500 (+0.2500) |  |", text)
        self.assertIn("| mean gap to dense | +0.0000 | +0.3750 | +1.0000 |", text)
        self.assertIn("| worst gap to dense | +0.0000 | +0.5000 | +1.0000 |", text)

    def test_a_mode_trained_later_is_measured_against_its_seeds_dense_run(self):
        seed0, later0, seed1 = (comparison(0, {"dense": 2.0, "pamm": 2.5}), comparison(0, {"pamm:k=128": 2.125}),
                                comparison(1, {"dense": 3.0, "pamm": 3.25}))
        joined = summarise.join_comparisons([seed0, seed1, later0])
        self.assertEqual([[run["mode"] for run in results["runs"]] for results in joined],
                         [["dense", "pamm", "pamm:k=128"], ["dense", "pamm"]])
        self.assertEqual(len(seed0["runs"]), 2)  # the files' own results are left as they were
        self.assertIn("| seed 0, 200 steps | 2.0000 (+0.0000) | 2.5000 (+0.5000) | 2.1250 (+0.1250) |",
                      summarise.summary(joined))

    def test_runs_of_other_steps_or_models_are_not_joined(self):
        longer = comparison(0, {"pamm:k=128": 2.125})
        longer["runs"][0]["steps"] = 400
        wider = dict(comparison(0, {"pamm:k=64": 2.25}), config={"d_model": 256})
        joined = summarise.join_comparisons([comparison(0, {"dense": 2.0}), longer, wider])
        self.assertEqual(len(joined), 3)

    def test_a_mode_given_twice_for_one_comparison_is_refused(self):
        with self.assertRaisesRegex(SystemExit, "mode 'pamm' of seed 0 is in two files"):
            summarise.join_comparisons([comparison(0, {"dense": 2.0, "pamm": 2.5}), comparison(0, {"pamm": 2.25})])

    def test_curve_windows_the_training_loss(self):
        results = {"runs": [{"mode": "dense", "kind": "dense", "train_loss": [4.0, 2.0, 1.0, 1.0]},
                            {"mode": "pamm", "kind": "pamm", "train_loss": [4.0, 3.0, 2.0, 1.0]}]}
        text = summarise.curve(results, window=2)
        self.assertIn("| steps 1–2 | steps 3–4 |", text)
        self.assertIn("| dense | 3.0000 | 1.0000 |", text)
        self.assertIn("| pamm | 3.5000 (+0.5000) | 1.5000 (+0.5000) |", text)


def sweep(seed, losses):
    """A comparison of dense and PAMM runs {(mode, k, epsilon, alpha): val_loss} at 4096 tokens per step."""
    runs = [{"mode": "dense", "kind": "dense", "k": None, "pamm": None, "val_loss": losses.pop("dense"), "steps": 600}]
    for (mode, k, epsilon, alpha), loss in losses.items():
        runs.append({"mode": mode, "kind": mode.split(":")[0], "k": k, "val_loss": loss, "steps": 600,
                     "pamm": {"ratio": 0, "k": k, "epsilon": epsilon, "alpha_dtype": alpha}})
    return {"seed": seed, "parameters": 869504, "config": {"tokens_per_step": 4096}, "runs": runs}


class GapByKTest(unittest.TestCase):
    RUNS = [sweep(0, {"dense": 2.0, ("pamm", 8, math.inf, "f32"): 2.25, ("pamm:k=32", 32, math.inf, "f32"): 2.0625,
                      ("crs", 8, 0.0, "f32"): 2.5}),
            sweep(1, {"dense": 3.0, ("pamm", 8, math.inf, "f32"): 3.125, ("pamm:alpha=bf16", 8, math.inf, "bf16"): 3.5,
                      ("pamm:eps=0.5", 8, 0.5, "f32"): 3.0})]

    def test_one_row_per_method_and_k_with_every_runs_gap(self):
        text = summarise.by_k(self.RUNS)
        self.assertIn("| crs | 8 | 1/512 | 1 | +0.5000 | +64.9% | +0.5000 |", text)
        self.assertIn("| pamm | 8 | 1/512 | 2 | +0.1875 | +20.6% | +0.2500, +0.1250 |", text)
        self.assertIn("| pamm | 32 | 1/128 | 1 | +0.0625 | +6.4% | +0.0625 |", text)
        self.assertIn("| pamm, alpha bf16 | 8 | 1/512 | 1 | +0.5000 | +64.9% | +0.5000 |", text)
        self.assertIn("| pamm, eps 0.5 | 8 | 1/512 | 1 | +0.0000 | +0.0% | +0.0000 |", text)
        self.assertEqual(len(text.splitlines()), 2 + 5)

    def test_pamm_all_layer_subsets_the_fused_projection_and_refinement_are_methods_of_their_own(self):
        runs = sweep(0, {"dense": 2.0, ("pamm-all:k=128", 128, math.inf, "f32"): 2.5,
                         ("pamm-all:k=128:layers=down", 128, math.inf, "f32"): 2.25,
                         ("pamm-all:k=128:layers=out+gate_up", 128, math.inf, "f32"): 2.125,
                         ("pamm:fused", 8, math.inf, "f32"): 2.0625,
                         ("pamm:refine", 8, math.inf, "f32"): 2.03125})
        runs["runs"][-2]["pamm"]["fused_projection"] = True
        runs["runs"][-1]["pamm"]["refine_generators"] = True
        text = summarise.by_k([runs])
        self.assertIn("| pamm, refined | 8 | 1/512 | 1 | +0.0312 |", text)
        self.assertIn("| pamm-all | 128 | 1/32 | 1 | +0.5000 |", text)
        self.assertIn("| pamm-all, layers down | 128 | 1/32 | 1 | +0.2500 |", text)
        self.assertIn("| pamm-all, layers out+gate_up | 128 | 1/32 | 1 | +0.1250 |", text)
        self.assertIn("| pamm, fused | 8 | 1/512 | 1 | +0.0625 |", text)

    def test_the_plot_is_written(self):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            self.skipTest("matplotlib is not installed")
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / "gap.png"
            summarise.plot_by_k(self.RUNS, path)
            self.assertGreater(path.stat().st_size, 1000)


if __name__ == "__main__":
    unittest.main()
