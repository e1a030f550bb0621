"""torch_pamm against PAMM by brute force in float64, with bounds derived from float32 rounding."""

import math
import unittest

import torch

import torch_pamm
from tests.reference import BFLOAT16_UNIT, FLOAT32_UNIT, BruteForce, approximation_of, gamma


def random_rows(rows, cols, seed):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed))


def random_indices(rows, k, seed):
    return torch.randperm(rows, generator=torch.Generator().manual_seed(seed))[:k]


class AssignmentTest(unittest.TestCase):
    """f, α, η and β of the compression, row by row."""

    def test_assignment_and_alpha_match_brute_force(self):
        rows, cols, k = 64, 6, 7
        x = random_rows(rows, cols, seed=1)
        indices = random_indices(rows, k, seed=2)  # unsorted: generator j is the j-th index given
        compressed = torch_pamm.compress(x, indices=indices)
        expected = BruteForce(x, indices)

        self.assertEqual(compressed.assignment.tolist(), expected.assignment)
        # float32 s_if and ‖C_f‖² carry γ_n relative error (of ‖X_i‖‖C_f‖ and of ‖C_f‖²), the division one more u.
        norms = x.double().norm(dim=1)
        generator_norms = x.double()[indices].norm(dim=1)[expected.assignment]
        alpha = torch.tensor(expected.alpha, dtype=torch.float64)
        bound = gamma(cols + 2) * (norms / generator_norms + 2 * alpha.abs())
        self.assertTrue(bool(((compressed.alpha.double() - alpha).abs() <= bound).all()))
        self.assertEqual(compressed.beta, 1.0)
        self.assertEqual(compressed.k, k)

    def test_generator_rows_are_their_own_generators_with_alpha_exactly_one(self):
        x = random_rows(12, 4, seed=3)
        x[7] = x[3]  # two generators holding the same vector: each still keeps its own row
        x[9] = x[3]  # a non-generator copy of them: a tie between generators 0 and 1, so 0
        compressed = torch_pamm.compress(x, indices=[3, 7, 5])
        self.assertEqual(compressed.assignment[[3, 7, 5]].tolist(), [0, 1, 2])
        self.assertEqual(compressed.alpha[[3, 7, 5]].tolist(), [1.0, 1.0, 1.0])
        self.assertEqual(int(compressed.assignment[9]), 0)

    def test_ties_go_to_the_smallest_generator_position(self):
        e = torch.eye(4)
        x = torch.stack([
            e[0], 2 * e[1], e[2],    # generators, given as rows 2, 1, 0 below: positions j = 2, 1, 0
            e[0] + e[1],             # |csim| 1/√2 with e[0] (j = 2) and with 2e[1] (j = 1): j = 1, α = 2/4
            e[2] - e[0],             # |csim| 1/√2 with e[2] (j = 0) and e[0] (j = 2): j = 0, α = 1
            3 * e[2] + e[1],         # no tie: e[2] (j = 0) wins, α = 3
        ])
        compressed = torch_pamm.compress(x, indices=[2, 1, 0])
        self.assertEqual(compressed.assignment[3:].tolist(), [1, 0, 0])
        self.assertEqual(compressed.alpha[3:].tolist(), [0.5, 1.0, 3.0])

    def test_alpha_carries_the_sign(self):
        x = torch.tensor([[1.0, 2.0, 0.0], [-2.0, -4.0, 0.0], [0.0, 0.0, 1.0]])
        compressed = torch_pamm.compress(x, indices=[0, 2])
        self.assertEqual(int(compressed.assignment[1]), 0)
        self.assertEqual(float(compressed.alpha[1]), -2.0)

    def test_zero_rows_and_zero_generators(self):
        x = random_rows(10, 5, seed=4)
        x[[0, 4, 6]] = 0  # rows 0 and 4 are generators (positions 0 and 2), row 6 is not
        compressed = torch_pamm.compress(x, indices=[0, 2, 4, 8])
        # A zero generator keeps its own row (α = 1), is never chosen by another row; a zero row gets α = 0 and the
        # first generator of non-zero norm.
        self.assertEqual(compressed.assignment[[0, 4, 6]].tolist(), [0, 2, 1])
        self.assertEqual(compressed.alpha[[0, 4, 6]].tolist(), [1.0, 1.0, 0.0])
        others = [i for i in range(10) if i not in (0, 2, 4, 6, 8)]
        self.assertTrue(all(j in (1, 3) for j in compressed.assignment[others].tolist()))
        self.assertEqual(compressed.assignment.tolist(), BruteForce(x, [0, 2, 4, 8]).assignment)

    def test_only_zero_generators_give_alpha_zero_everywhere_else(self):
        x = random_rows(6, 3, seed=5)
        x[[1, 3]] = 0
        compressed = torch_pamm.compress(x, indices=[1, 3])
        self.assertEqual(compressed.alpha.tolist(), [0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
        product = torch_pamm.approx_matmul(compressed, random_rows(6, 2, seed=6))
        self.assertEqual(product.abs().max().item(), 0.0)  # generators are zero, so is every product

    def test_epsilon_between_zero_and_one_drops_the_brute_force_rows(self):
        rows, epsilon = 80, 0.4
        x = random_rows(rows, 3, seed=7)  # in 3 dimensions some rows lie close to a generator's line
        indices = random_indices(rows, 6, seed=8)
        compressed = torch_pamm.compress(x, epsilon=epsilon, indices=indices)
        expected = BruteForce(x, indices, epsilon)
        self.assertEqual((compressed.alpha == 0).tolist(), expected.dropped)
        self.assertGreater(sum(expected.dropped), 10)  # the condition is exercised both ways
        self.assertLess(sum(expected.dropped), rows - 10)
        self.assertEqual(int(compressed.dropped_rows), sum(expected.dropped))
        self.assertAlmostEqual(float(compressed.beta), expected.beta, delta=expected.beta * 4 * FLOAT32_UNIT)

    def test_epsilon_zero_keeps_generators_zero_rows_and_rows_on_a_generator_line(self):
        x = torch.tensor([[1.0, 2.0, 2.0], [3.0, 0.0, 4.0], [-2.0, -4.0, -4.0], [0.0, 0.0, 0.0],
                          [1.0, 1.0, 0.0], [3.0, 0.0, 4.5], [0.5, 1.0, 1.0]])
        compressed = torch_pamm.compress(x, epsilon=0.0, indices=[0, 1])
        # Kept: the generators, row 2 = −2·C_0, the zero row 3 and row 6 = C_0/2; dropped: rows 4 and 5.
        self.assertEqual(compressed.alpha.tolist(), [1.0, 1.0, -2.0, 0.0, 0.0, 0.0, 0.5])
        self.assertEqual(int(compressed.dropped_rows), 2)
        self.assertEqual(float(compressed.beta), float(torch.tensor(7 / 5)))  # b / (b − η) in float32


class ProductTest(unittest.TestCase):
    """The approximate product β B̃ᵀ C against the brute-force sum, with float32 bounds."""

    def test_product_matches_brute_force(self):
        rows, cols, width, k = 96, 8, 5, 6
        x = random_rows(rows, cols, seed=10)
        grad = random_rows(rows, width, seed=11)
        indices = random_indices(rows, k, seed=12)
        compressed = torch_pamm.compress(x, indices=indices)
        expected = BruteForce(x, indices)

        product = torch_pamm.approx_matmul(compressed, grad)
        self.assertEqual(product.shape, (width, cols))
        self.assertEqual(product.dtype, torch.float32)
        # Each element sums b terms α_i G_ip C_f(i)q (index_add_), then k (mm): γ_{b+k+1} of the sum of their
        # magnitudes; α's own error (see the assignment test) enters through |G|ᵀ(δα |C_f|).
        norms = x.double().norm(dim=1)
        generator_norms = x.double()[indices].norm(dim=1)[expected.assignment]
        alpha = torch.tensor(expected.alpha, dtype=torch.float64)
        alpha_error = gamma(cols + 2) * (norms / generator_norms + 2 * alpha.abs())
        chosen = x.double()[indices][expected.assignment].abs()
        magnitude = grad.double().abs().t() @ (alpha.abs().unsqueeze(1) * chosen)
        bound = gamma(rows + k + 1) * magnitude + grad.double().abs().t() @ (alpha_error.unsqueeze(1) * chosen)
        error = (product.double() - expected.product(grad)).abs()
        self.assertTrue(bool((error <= bound).all()), f"largest error / bound {float((error / bound).max()):.3g}")

    def test_epsilon_zero_is_uniform_column_row_sampling(self):
        rows, k = 64, 8
        x = random_rows(rows, 6, seed=13)  # generic rows: none lies on a generator's line
        grad = random_rows(rows, 4, seed=14)
        indices = random_indices(rows, k, seed=15)
        compressed = torch_pamm.compress(x, epsilon=0.0, indices=indices)
        self.assertEqual(int(compressed.dropped_rows), rows - k)
        self.assertEqual(float(compressed.beta), rows / k)

        crs = rows / k * grad.double()[indices].t() @ x.double()[indices]
        magnitude = rows / k * grad.double()[indices].abs().t() @ x.double()[indices].abs()
        error = (torch_pamm.approx_matmul(compressed, grad).double() - crs).abs()
        self.assertTrue(bool((error <= gamma(rows + k + 2) * magnitude).all()))

    def test_ratio_one_gives_the_exact_product(self):
        rows, cols, width = 50, 7, 3
        x, grad = random_rows(rows, cols, seed=16), random_rows(rows, width, seed=17)
        compressed = torch_pamm.compress(x, ratio=1.0)
        self.assertEqual(compressed.k, rows)
        self.assertTrue(bool((compressed.alpha == 1).all()))
        exact = grad.double().t() @ x.double()
        magnitude = grad.double().abs().t() @ x.double().abs()
        error = (torch_pamm.approx_matmul(compressed, grad).double() - exact).abs()
        self.assertTrue(bool((error <= gamma(2 * rows + 1) * magnitude).all()))

    def test_ratio_one_in_bfloat16_is_the_exact_product_rounded_once(self):
        rows, cols, width = 40, 6, 3
        x = random_rows(rows, cols, seed=18).bfloat16()
        grad = random_rows(rows, width, seed=19).bfloat16()
        product = torch_pamm.approx_matmul(torch_pamm.compress(x, ratio=1.0), grad)
        self.assertEqual(product.dtype, torch.bfloat16)
        exact = grad.double().t() @ x.double()  # of the rounded inputs
        magnitude = grad.double().abs().t() @ x.double().abs()
        error = (product.double() - exact).abs()
        self.assertTrue(bool((error <= BFLOAT16_UNIT * exact.abs() + 2 * gamma(2 * rows + 1) * magnitude).all()))

    def test_bfloat16_sums_accumulate_in_float32(self):
        # 1024 rows on one generator with G = 1: B̃ = 1024 in float32; a bfloat16 running sum stalls at 256.
        x = torch.zeros(1024, 4, dtype=torch.bfloat16)
        x[:, 0] = 1
        grad = torch.ones(1024, 2, dtype=torch.bfloat16)
        product = torch_pamm.approx_matmul(torch_pamm.compress(x, indices=[0]), grad)
        self.assertEqual(product.tolist(), [[1024.0, 0.0, 0.0, 0.0]] * 2)

    def test_out_dtype(self):
        x = random_rows(16, 4, seed=20).bfloat16()
        compressed = torch_pamm.compress(x, k=4, generator=torch.Generator().manual_seed(0))
        product = torch_pamm.approx_matmul(compressed, random_rows(16, 3, seed=21).bfloat16(), out_dtype=torch.float32)
        self.assertEqual(product.dtype, torch.float32)
        self.assertEqual(product.shape, (3, 4))

    def test_the_product_is_the_gradient_times_the_approximation(self):
        # Õ = Gᵀ (β X̃) for any ε: the product uses exactly the compression's f, α and β.
        x, grad = random_rows(60, 3, seed=22), random_rows(60, 4, seed=23)
        compressed = torch_pamm.compress(x, epsilon=0.7, indices=random_indices(60, 5, seed=24))
        expected = grad.double().t() @ approximation_of(compressed)
        magnitude = grad.double().abs().t() @ approximation_of(compressed).abs()
        error = (torch_pamm.approx_matmul(compressed, grad).double() - expected).abs()
        self.assertTrue(bool((error <= gamma(60 + 5 + 2) * magnitude).all()))


class SamplingTest(unittest.TestCase):
    def test_generator_count_is_round_half_even_clamped(self):
        cases = {(1000, 1 / 512): 2, (16384, 1 / 512): 32, (65536, 1 / 512): 128, (100, 1e-6): 1, (5, 0.5): 2,
                 (7, 0.5): 4, (3, 1.0): 3}  # round(2.5) = 2, round(3.5) = 4
        for (rows, ratio), k in cases.items():
            self.assertEqual(torch_pamm.generator_count(rows, ratio), k, (rows, ratio))
        self.assertEqual(torch_pamm.generator_count(10, ratio=0.9, k=3), 3)  # k wins over the ratio

    def test_sample_is_k_distinct_sorted_rows_reproducible_from_the_generator(self):
        def sample(seed):
            return torch_pamm.compress(random_rows(300, 2, seed=0), ratio=0.1,
                                       generator=torch.Generator().manual_seed(seed)).indices
        first = sample(1)
        self.assertEqual(first.numel(), 30)
        self.assertEqual(first.unique().numel(), 30)
        self.assertEqual(first.tolist(), sorted(first.tolist()))
        self.assertTrue(0 <= int(first.min()) and int(first.max()) < 300)
        self.assertEqual(sample(1).tolist(), first.tolist())
        self.assertNotEqual(sample(2).tolist(), first.tolist())

    def test_stored_bytes_count_everything_kept(self):
        compressed = torch_pamm.compress(random_rows(64, 10, seed=25).bfloat16(), k=4)
        # C in bfloat16, the 4 indices and 64 assignments in int64, 64 α in float32.
        self.assertEqual(compressed.stored_bytes, 4 * 10 * 2 + 4 * 8 + 64 * 8 + 64 * 4)


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.x = random_rows(8, 3, seed=26)

    def assertRaisesNaming(self, error, text, function, *args, **kwargs):
        with self.assertRaises(error) as raised:
            function(*args, **kwargs)
        self.assertIn(text, str(raised.exception))

    def test_compress_options(self):
        for ratio in (0.0, -0.5, 1.5, math.nan):
            self.assertRaisesNaming(ValueError, "ratio", torch_pamm.compress, self.x, ratio)
        for k in (0, 9):
            self.assertRaisesNaming(ValueError, "k must be in [1, 8]", torch_pamm.compress, self.x, k=k)
        for epsilon in (-0.1, math.nan):
            self.assertRaisesNaming(ValueError, "epsilon", torch_pamm.compress, self.x, epsilon=epsilon)

    def test_compress_input(self):
        self.assertRaisesNaming(ValueError, "x must be a non-empty 2-D", torch_pamm.compress, torch.ones(8))
        self.assertRaisesNaming(ValueError, "x must be a non-empty 2-D", torch_pamm.compress, torch.ones(0, 3))
        self.assertRaisesNaming(TypeError, "x is torch.int64", torch_pamm.compress, torch.ones(8, 3, dtype=torch.int64))

    def test_explicit_indices(self):
        self.assertRaisesNaming(ValueError, "distinct", torch_pamm.compress, self.x, indices=[1, 1])
        self.assertRaisesNaming(ValueError, "rows in [0, 8)", torch_pamm.compress, self.x, indices=[0, 8])
        self.assertRaisesNaming(ValueError, "rows in [0, 8)", torch_pamm.compress, self.x, indices=[-1])
        self.assertRaisesNaming(ValueError, "non-empty 1-D", torch_pamm.compress, self.x, indices=[])

    def test_product_gradient(self):
        compressed = torch_pamm.compress(self.x, k=2)
        self.assertRaisesNaming(ValueError, "grad has 7 rows", torch_pamm.approx_matmul, compressed, torch.ones(7, 2))
        self.assertRaisesNaming(ValueError, "grad must be a non-empty 2-D", torch_pamm.approx_matmul, compressed,
                                torch.ones(8))
        self.assertRaisesNaming(TypeError, "grad is torch.int32", torch_pamm.approx_matmul, compressed,
                                torch.ones(8, 2, dtype=torch.int32))


if __name__ == "__main__":
    unittest.main()
