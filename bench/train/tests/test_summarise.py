"""The multi-run summary that the quality bounds are derived from."""

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

    def test_curve_windows_the_training_loss(self):
        results = {"runs": [{"mode": "dense", "kind": "dense", "train_loss": [4.0, 2.0, 1.0, 1.0]},
                            {"mode": "pamm", "kind": "pamm", "train_loss": [4.0, 3.0, 2.0, 1.0]}]}
        text = summarise.curve(results, window=2)
        self.assertIn("| steps 1–2 | steps 3–4 |", text)
        self.assertIn("| dense | 3.0000 | 1.0000 |", text)
        self.assertIn("| pamm | 3.5000 (+0.5000) | 1.5000 (+0.5000) |", text)


if __name__ == "__main__":
    unittest.main()
