"""
The peer against pammcuda's CPU backend. pammcuda's Python API takes no explicit generator list, but its sample
depends only on (seed, b, k), so it can be read once (reference.pammcuda_generator_rows) and given to the peer:
then both compute the same PAMM and must agree within float32 rounding (float32) or the 16-bit similarity's rounding
(bfloat16). With their own samplers (torch.randperm against Philox keys) they must agree in error statistics.
"""

import math
import statistics
import unittest

import torch

import checkout
import peer_benchmark
import torch_pamm
from tests.reference import (BFLOAT16_UNIT, BruteForce, approximation_of, gamma, pammcuda_approximation,
                             pammcuda_generator_rows)

pammcuda, UNAVAILABLE = checkout.load_pammcuda(torch.device("cpu"))


def random_rows(rows, cols, seed, dtype=torch.float32):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed)).to(dtype)


@unittest.skipIf(pammcuda is None, f"pammcuda cannot run here: {UNAVAILABLE}")
class SampleTest(unittest.TestCase):
    def test_the_probe_reads_the_generator_set_of_any_input(self):
        rows, k, seed = 200, 9, 5
        sample = pammcuda_generator_rows(pammcuda, rows, k, seed)
        self.assertEqual(sample.unique().numel(), k)
        # On other data, the same options keep exactly those rows as themselves (α = 1, β = 1).
        x = random_rows(rows, 6, seed=1)
        approximation = pammcuda_approximation(pammcuda.compress(x, pammcuda.PammOptions(k=k, seed=seed)), rows)
        self.assertTrue(torch.equal(approximation[sample], x.double()[sample]))
        others = torch.ones(rows, dtype=torch.bool)
        others[sample] = False
        self.assertFalse(bool((approximation[others] == x.double()[others]).all(dim=1).any()))
        self.assertNotEqual(pammcuda_generator_rows(pammcuda, rows, k, seed + 1).tolist(), sample.tolist())

    def test_k_from_a_ratio_is_the_same(self):
        for rows, ratio in ((1000, 1 / 512), (5, 0.5), (7, 0.5), (300, 1e-4), (40, 1.0), (1023, 1 / 64)):
            compressed = pammcuda.compress(random_rows(rows, 2, seed=0), pammcuda.PammOptions(ratio=ratio))
            self.assertEqual(torch_pamm.generator_count(rows, ratio), compressed.k, (rows, ratio))


@unittest.skipIf(pammcuda is None, f"pammcuda cannot run here: {UNAVAILABLE}")
class SameGeneratorsTest(unittest.TestCase):
    """Given pammcuda's generators, the peer computes the same f, α, β and product."""

    rows, cols, width, k, seed = 256, 16, 5, 12, 3

    def compress_both(self, x, epsilon):
        indices = pammcuda_generator_rows(pammcuda, self.rows, self.k, self.seed)
        peer = torch_pamm.compress(x, epsilon=epsilon, indices=indices)
        ours = pammcuda.compress(x, pammcuda.PammOptions(k=self.k, seed=self.seed, epsilon=epsilon))
        return indices, peer, ours

    def test_float32_agrees_within_rounding(self):
        x, grad = random_rows(self.rows, self.cols, seed=30), random_rows(self.rows, self.width, seed=31)
        for epsilon in (math.inf, 0.75):
            with self.subTest(epsilon=epsilon):
                indices, peer, ours = self.compress_both(x, epsilon)
                expected = BruteForce(x, indices, epsilon)
                self.assertEqual(ours.read_dropped_rows(), sum(expected.dropped))
                if epsilon < 1:
                    self.assertGreater(ours.read_dropped_rows(), 0)

                # Each side's α is within γ_{n+2}(‖X_i‖/‖C_f‖ + 2|α|) of the true one, and α·C_f, β add a rounding
                # each: row i of β X̃ differs by at most this between the two (f equal, else it would be ~‖X_i‖).
                alpha = torch.tensor(expected.alpha, dtype=torch.float64)
                generator_norms = x.double()[indices].norm(dim=1)[expected.assignment]
                row_bound = expected.beta * 4 * gamma(self.cols + 4) * (
                    x.double().norm(dim=1) + alpha.abs() * generator_norms)
                difference = approximation_of(peer) - pammcuda_approximation(ours, self.rows)
                self.assertTrue(bool((difference.norm(dim=1) <= row_bound).all()))

                # The products: Gᵀ of that difference, plus each side's summation over b rows and k generators.
                magnitude = grad.double().abs().t() @ approximation_of(peer).abs()
                bound = (grad.double().norm() * row_bound.norm()
                         + 2 * gamma(self.rows + self.k + 2) * magnitude.norm())
                product_difference = torch_pamm.approx_matmul(peer, grad).double() - ours.matmul(grad).double()
                self.assertLessEqual(float(product_difference.norm()), float(bound))

    def test_bfloat16_agrees_within_the_similarity_rounding(self):
        # pammcuda keeps the similarities in float32, torch.mm rounds them to bfloat16: α moves by up to 2^-8 of
        # itself, and f may differ only where the two best scores are that close. Rows clear of such near-ties agree.
        x = random_rows(self.rows, self.cols, seed=32, dtype=torch.bfloat16)
        indices, peer, ours = self.compress_both(x, math.inf)
        expected = BruteForce(x, indices)

        scores = (x.double() @ x.double()[indices].t()).abs() / x.double()[indices].norm(dim=1)
        best, second = scores.topk(2, dim=1).values.unbind(1)
        clear = best > second * (1 + 4 * BFLOAT16_UNIT)
        clear[indices] = True
        self.assertGreater(int(clear.sum()), 0.9 * self.rows)  # the comparison below covers nearly every row

        alpha = torch.tensor(expected.alpha, dtype=torch.float64)
        chosen = alpha.abs() * x.double()[indices].norm(dim=1)[expected.assignment]
        row_bound = 1.01 * BFLOAT16_UNIT * chosen + 4 * gamma(self.cols + 4) * (x.double().norm(dim=1) + chosen)
        difference = (approximation_of(peer) - pammcuda_approximation(ours, self.rows)).norm(dim=1)
        self.assertTrue(bool((difference[clear] <= row_bound[clear]).all()))


@unittest.skipIf(pammcuda is None, f"pammcuda cannot run here: {UNAVAILABLE}")
class ErrorStatisticsTest(unittest.TestCase):
    def test_own_samplers_give_the_same_error_distribution(self):
        """
        Peer (torch.randperm) and pammcuda (Philox keys) on the same inputs, seed by seed: both samplers are uniform
        without replacement, so the paired differences of their relative errors have mean 0; 4 standard errors of
        that mean bound it. A biased sampler or a wrong α or β in either would move it by far more.
        """
        rows, cols, width, ratio, trials = 512, 32, 8, 1 / 32, 40
        peer_errors, our_errors = [], []
        for seed in range(trials):
            generator = torch.Generator().manual_seed(1000 + seed)
            x = peer_benchmark.clustered_activations(rows, cols, 4, 0.1, generator, torch.device("cpu"))
            grad = torch.randn(rows, width, generator=generator)
            exact = grad.double().t() @ x.double()

            def error(product):
                return float((product.double() - exact).norm() / exact.norm())

            peer = torch_pamm.compress(x, ratio, generator=torch.Generator().manual_seed(seed))
            peer_errors.append(error(torch_pamm.approx_matmul(peer, grad)))
            ours = pammcuda.compress(x, pammcuda.PammOptions(ratio=ratio, seed=seed))
            our_errors.append(error(ours.matmul(grad)))

        differences = [a - b for a, b in zip(peer_errors, our_errors)]
        standard_error = statistics.stdev(differences) / math.sqrt(trials)
        self.assertGreater(standard_error, 0)  # different samples: the errors are not identical
        self.assertLessEqual(abs(statistics.mean(differences)), 4 * standard_error,
                             f"mean errors: peer {statistics.mean(peer_errors):.4f}, pammcuda {statistics.mean(our_errors):.4f}")
        # Both near the noise level (0.1) the data is made with, far below an unstructured approximation's ~1.
        self.assertLess(statistics.median(peer_errors), 0.3)


if __name__ == "__main__":
    unittest.main()
