"""PammLinear and PammQKV under torch.autocast and torch.compile (the layers' own tests are in test_pammcuda.py)."""

import unittest

import torch
from torch import nn

import pammcuda
from requirements import torch_at_least


def twin_linear(layer):
    reference = nn.Linear(layer.in_features, layer.out_features, layer.bias is not None)
    reference.load_state_dict(layer.state_dict())
    return reference


def stored_bytes(rows, cols, k, element_bytes):
    # Generators, an assignment of 8, 16 or 32 bits (the fewest that hold k - 1) and a float32 coefficient per row,
    # one int32 dropped-row count.
    assignment_bytes = 1 if k <= 256 else 2 if k <= 65536 else 4
    return k * cols * element_bytes + rows * (assignment_bytes + 4) + 4


def assert_rounded_once_to_bfloat16(actual, x, grad):
    """
    actual is grad^T x of the bfloat16-rounded inputs, summed in float32 and rounded once to bfloat16: within half a
    bfloat16 ulp (2^-8 relative) of the exact product, plus the float32 sum's rounding.
    """
    x, grad = x.to(torch.bfloat16).double().reshape(-1, x.shape[-1]), grad.double().reshape(-1, grad.shape[-1])
    exact = grad.T @ x
    torch.testing.assert_close(actual.double(), exact, rtol=2 ** -8, atol=x.shape[0] * 2 ** -23 * exact.abs().max().item())


class AutocastTests(unittest.TestCase):
    """Under autocast a layer runs as nn.Linear does there (in bfloat16 on the CPU) and compresses a bfloat16 input."""

    def setUp(self):
        torch.manual_seed(12)

    def test_pamm_linear(self):
        layer = pammcuda.PammLinear(16, 8, ratio=1.0)
        reference = twin_linear(layer)
        x, grad = torch.randn(3, 10, 16), torch.randn(3, 10, 8).to(torch.bfloat16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output, expected = layer(x), reference(x)
        self.assertEqual(output.dtype, torch.bfloat16)
        torch.testing.assert_close(output, expected, rtol=0, atol=0)
        self.assertEqual(pammcuda.saved_compression(output.grad_fn).stored_bytes, stored_bytes(30, 16, 30, element_bytes=2))
        output.backward(grad)
        self.assertEqual(layer.weight.grad.dtype, torch.float32)
        assert_rounded_once_to_bfloat16(layer.weight.grad, x, grad)

    def test_pamm_qkv(self):
        qkv = pammcuda.PammQKV(16, 8, ratio=1.0)
        references = [twin_linear(layer) for layer in (qkv.q, qkv.k, qkv.v)]
        x = torch.randn(20, 16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            outputs = qkv(x)
            expected = [reference(x) for reference in references]
        for output, reference_output in zip(outputs, expected):
            self.assertEqual(output.dtype, torch.bfloat16)
            torch.testing.assert_close(output, reference_output, rtol=0, atol=0)
        self.assertEqual(pammcuda.saved_compression(outputs[0].grad_fn).stored_bytes, stored_bytes(20, 16, 20, element_bytes=2))
        grads = [torch.randn(20, 8).to(torch.bfloat16) for _ in range(3)]
        torch.autograd.backward(outputs, grads)
        for layer, grad in zip((qkv.q, qkv.k, qkv.v), grads):
            self.assertEqual(layer.weight.grad.dtype, torch.float32)
            assert_rounded_once_to_bfloat16(layer.weight.grad, x, grad)

    def test_autocast_off_inside_keeps_float32(self):
        layer = pammcuda.PammLinear(16, 8, ratio=0.5)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
            output = layer(torch.randn(10, 16))
        self.assertEqual(output.dtype, torch.float32)
        self.assertEqual(pammcuda.saved_compression(output.grad_fn).stored_bytes, stored_bytes(10, 16, 5, element_bytes=4))


@unittest.skipUnless(torch_at_least(2, 4), f"torch.compile tests need torch >= 2.4, this is {torch.__version__}")
class CompileTests(unittest.TestCase):
    def test_compiled_block_with_pamm_qkv_trains_as_eager(self):
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = nn.LayerNorm(32)
                self.qkv = pammcuda.PammQKV(32, 32, ratio=1.0, seed=1)
                self.out = pammcuda.PammLinear(32, 32, ratio=1.0, seed=2)

            def forward(self, x):
                q, k, v = self.qkv(self.norm(x))
                return self.out(torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v)

        torch.manual_seed(13)
        eager = Block()
        compiled_block = Block()
        compiled_block.load_state_dict(eager.state_dict())
        compiled = torch.compile(compiled_block, backend="aot_eager")
        x = torch.randn(2, 16, 32)
        for model in (eager, compiled):
            model(x).square().mean().backward()
        for (name, parameter), compiled_parameter in zip(eager.named_parameters(), compiled_block.parameters()):
            torch.testing.assert_close(compiled_parameter.grad, parameter.grad, rtol=1e-4,
                                       atol=1e-5 * parameter.grad.abs().max().item(), msg=name)


if __name__ == "__main__":
    unittest.main()
