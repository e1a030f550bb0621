"""
Refined generators (refine_generators=True, beyond the paper's PAMM): the same stored bytes, a smaller weight-gradient
error on activations that lie near lines, and the option carried by every way in (PammOptions, the layers, convert).
"""

import unittest

import torch

import pammcuda


def clustered(rows, cols, lines, noise, seed):
    """Rows around a few directions, with a random scale and sign each: the structure PAMM is built for."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(lines, cols, generator=generator)
    which = torch.randint(0, lines, (rows,), generator=generator)
    scale = (torch.rand(rows, 1, generator=generator) * 1.5 + 0.5) * (torch.randint(0, 2, (rows, 1), generator=generator) * 2 - 1)
    return scale * (directions[which] + noise * torch.randn(rows, cols, generator=generator))


class RefinedGeneratorsTest(unittest.TestCase):
    def test_refinement_keeps_the_bytes_and_lowers_the_error(self):
        x, grad = clustered(2048, 48, 12, 0.4, 1), torch.randn(2048, 16, generator=torch.Generator().manual_seed(2))
        exact = grad.T @ x
        plain = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=5))
        refined = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=5, refine_generators=True))
        self.assertEqual(refined.stored_bytes, plain.stored_bytes)
        self.assertEqual(refined.storage.numel(), plain.storage.numel())
        plain_error = ((plain.matmul(grad) - exact).norm() / exact.norm()).item()
        refined_error = ((refined.matmul(grad) - exact).norm() / exact.norm()).item()
        self.assertLess(refined_error, 0.9 * plain_error)

    def test_a_layer_with_refined_generators_gives_the_refined_compressions_gradient(self):
        x, grad = clustered(512, 24, 6, 0.3, 3), torch.randn(512, 8)
        layer = pammcuda.PammLinear(24, 8, bias=False, k=8, seed=11, refine_generators=True)
        (weight_grad,) = torch.autograd.grad(layer(x), layer.weight, grad)
        options = pammcuda.PammOptions(k=8, seed=11, refine_generators=True)
        self.assertTrue(torch.equal(weight_grad, pammcuda.compress(x, options).matmul(grad)))
        plain = pammcuda.compress(x, pammcuda.PammOptions(k=8, seed=11)).matmul(grad)
        self.assertFalse(torch.equal(weight_grad, plain), "the option reached the compression")

    def test_every_way_in_takes_the_option_and_checks_it(self):
        qkv = pammcuda.PammQKV(16, 8, k=4, refine_generators=True)
        self.assertIn("refine_generators=True", repr(qkv))
        q, _, _ = qkv(torch.randn(64, 16))
        self.assertIsNotNone(pammcuda.saved_compression(q.grad_fn))
        model = torch.nn.Module()
        model.q_proj, model.k_proj, model.v_proj = (torch.nn.Linear(16, 8) for _ in range(3))
        pammcuda.convert(model, k=4, refine_generators=True)
        self.assertTrue(model.q_proj.pamm_compression.sampling.options.refine_generators)
        for make in (lambda: pammcuda.PammLinear(8, 4, refine_generators=1), lambda: pammcuda.PammQKV(8, 4, refine_generators="yes"),
                     lambda: pammcuda.convert(torch.nn.Module(), refine_generators=None)):
            with self.assertRaisesRegex(ValueError, "refine_generators must be True or False"):
                make()


if __name__ == "__main__":
    unittest.main()
