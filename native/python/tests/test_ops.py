"""
The pammcuda torch.library ops: what they compute (bit for bit what the Compressed objects compute), their fake
implementations (shapes and dtypes without data, which torch.compile traces with), bad input, and on torch >= 2.4
torch.library.opcheck and compiled layers without a graph break, under aot_eager and under Inductor. CPU tests run
everywhere; CUDA tests skip with the reason where there is no GPU.
"""

import math
import unittest

import torch

import pammcuda
from pammcuda import ops
from requirements import cuda_skip_reason, inductor_skip_reason, torch_at_least

INF = math.inf
SEED = torch.tensor(17, dtype=torch.int64)


def bits(tensor):
    return tensor.float().view(torch.int32)


def product(storage, grad, cols, k, dtype=torch.float32, alpha_dtype=torch.float32):
    return ops.approx_matmul(storage, None, grad, grad.shape[0], cols, 0.0, k, dtype, alpha_dtype, pammcuda.GRADIENT_BY_INPUT, torch.float32)


class CpuOpTests(unittest.TestCase):
    def test_compress_writes_the_compression_the_compressed_object_holds(self):
        # The storage's alignment gaps are never written, so the compressions are compared by what they hold.
        x, grad = torch.randn(300, 24), torch.randn(300, 5)
        for alpha_dtype in (torch.float32, torch.bfloat16):
            storage = ops.compress(x, SEED, 0.0, 12, 0.3, alpha_dtype)
            expected = pammcuda.compress(x, pammcuda.PammOptions(k=12, epsilon=0.3, seed=17, alpha_dtype=alpha_dtype))
            opened = pammcuda.open_compressed(storage, 300, 24, 12, torch.float32, alpha_dtype)
            self.assertEqual(storage.dtype, torch.uint8)
            self.assertEqual(storage.numel(), expected.storage.numel())
            self.assertEqual((opened.k, opened.alpha_dtype, opened.stored_bytes), (12, alpha_dtype, expected.stored_bytes))
            self.assertEqual(opened.read_dropped_rows(), expected.read_dropped_rows())
            self.assertGreater(opened.read_dropped_rows(), 0, "epsilon 0.3 drops rows")
            self.assertTrue(torch.equal(bits(product(storage, grad, 24, 12, alpha_dtype=alpha_dtype)),
                                        bits(expected.matmul(grad, out_dtype=torch.float32))), f"alpha {alpha_dtype}")

    def test_approx_matmul_from_the_storage_equals_the_compressed_objects_product(self):
        x, grad = torch.randn(257, 16, dtype=torch.bfloat16), torch.randn(257, 9, dtype=torch.bfloat16)
        ratio = 1 / 16
        storage = ops.compress(x, SEED, ratio, 0, INF, torch.float32)
        compressed = pammcuda.compress(x, pammcuda.PammOptions(ratio=ratio, seed=17))
        for layout, shape in ((pammcuda.GRADIENT_BY_INPUT, (9, 16)), (pammcuda.INPUT_BY_GRADIENT, (16, 9))):
            for out_dtype in (torch.float32, torch.bfloat16):
                actual = ops.approx_matmul(storage, None, grad, 257, 16, ratio, 0, torch.bfloat16, torch.float32, layout, out_dtype)
                expected = compressed.matmul(grad, layout=layout, out_dtype=out_dtype)
                self.assertEqual(actual.shape, shape)
                self.assertEqual(actual.dtype, out_dtype)
                self.assertTrue(torch.equal(bits(actual), bits(expected)), f"layout {layout}, out {out_dtype}")

    def test_approx_matmul_batch_gives_each_gradient_its_own_product_bitwise(self):
        x = torch.randn(257, 16, dtype=torch.bfloat16)
        grads = [torch.randn(257, m, dtype=torch.bfloat16) for m in (9, 4, 4)]
        storage = ops.compress(x, SEED, 1 / 16, 0, INF, torch.float32)
        arguments = (257, 16, 1 / 16, 0, torch.bfloat16, torch.float32)
        for layout in (pammcuda.GRADIENT_BY_INPUT, pammcuda.INPUT_BY_GRADIENT):
            for count in (1, 3):
                actual = ops.approx_matmul_batch(storage, None, grads[:count], *arguments, layout, torch.bfloat16)
                self.assertEqual(len(actual), count)
                for grad, product in zip(grads, actual):
                    expected = ops.approx_matmul(storage, None, grad, *arguments, layout, torch.bfloat16)
                    self.assertEqual((product.shape, product.dtype), (expected.shape, torch.bfloat16))
                    self.assertTrue(torch.equal(bits(product), bits(expected)), f"layout {layout}, {count} products")

    def test_approx_matmul_batch_refuses_bad_batches_naming_them(self):
        x = torch.randn(64, 8)
        storage = ops.compress(x, SEED, 0.0, 4, INF, torch.float32)
        grad = torch.randn(64, 3)
        arguments = (64, 8, 0.0, 4, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT, torch.float32)
        with self.assertRaisesRegex(ValueError, "grads holds 0 tensors; a batch takes 1 to 3"):
            ops.approx_matmul_batch(storage, None, [], *arguments)
        with self.assertRaisesRegex(ValueError, "grads holds 4 tensors"):
            ops.approx_matmul_batch(storage, None, [grad] * 4, *arguments)
        with self.assertRaisesRegex(ValueError, r"grads\[1\] is torch.bfloat16, grads\[0\] torch.float32"):
            ops.approx_matmul_batch(storage, None, [grad, grad.bfloat16()], *arguments)
        with self.assertRaisesRegex(ValueError, "grad must be a 2-D tensor of the compressed input's 64 rows"):
            ops.approx_matmul_batch(storage, None, [grad, grad[:48]], *arguments)
        compressed = pammcuda.open_compressed(storage, 64, 8, 4, torch.float32)
        with self.assertRaisesRegex(ValueError, r"grads\[2\] must be a contiguous 2-D tensor"):
            compressed.matmul_batch([grad, grad, grad.T])
        needed = pammcuda.matmul_batch_workspace_bytes(64, 8, 4, torch.float32, [3, 3])
        self.assertEqual(needed, pammcuda.matmul_workspace_bytes(64, 8, 4, torch.float32, 4 + 3, torch.float32),
                         "the first product's 3 columns padded to 4, then the last one's 3")
        with self.assertRaisesRegex(ValueError, rf"workspace holds 1 bytes; these shapes need {needed}"):
            compressed.matmul_batch([grad, grad], workspace=torch.empty(1, dtype=torch.uint8))
        with self.assertRaisesRegex(pammcuda.PammArgumentError, "grad_cols"):
            pammcuda.matmul_batch_workspace_bytes(64, 8, 4, torch.float32, [3, 0])

    def test_seeds_pick_the_generators(self):
        x, grad = torch.randn(200, 8), torch.randn(200, 3)
        same = [product(ops.compress(x, torch.tensor(5), 0.0, 10, INF, torch.float32), grad, 8, 10) for _ in range(2)]
        other = product(ops.compress(x, torch.tensor(6), 0.0, 10, INF, torch.float32), grad, 8, 10)
        self.assertTrue(torch.equal(bits(same[0]), bits(same[1])))
        self.assertFalse(torch.equal(same[0], other))

    def test_a_plan_is_for_cuda_storage(self):
        storage = ops.compress(torch.randn(64, 8), SEED, 0.0, 4, INF, torch.float32)
        with self.assertRaisesRegex(ValueError, "storage is on cpu.*CUDA"):
            ops.prepare_products(storage, 64, 8, 0.0, 4, torch.float32, torch.float32)

    def test_bad_input_names_the_argument(self):
        x = torch.randn(64, 8)
        storage = ops.compress(x, SEED, 0.0, 4, INF, torch.float32)
        grad = torch.randn(64, 3)
        with self.assertRaisesRegex(TypeError, "seed must be a 0-d torch.int64"):
            ops.compress(x, torch.tensor(1.5), 0.0, 4, INF, torch.float32)
        with self.assertRaisesRegex(TypeError, "seed must be a 0-d torch.int64"):
            ops.compress(x, torch.tensor([1, 2]), 0.0, 4, INF, torch.float32)
        with self.assertRaisesRegex(ValueError, "x must be a contiguous 2-D tensor"):
            ops.compress(x.T, SEED, 0.0, 4, INF, torch.float32)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, "alpha_dtype"):
            ops.compress(x, SEED, 0.0, 4, INF, torch.float16)
        with self.assertRaisesRegex(ValueError, "storage holds .* bytes; these shapes need"):
            ops.approx_matmul(storage[:-1], None, grad, 64, 8, 0.0, 4, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT,
                              torch.float32)
        with self.assertRaisesRegex(ValueError, "storage holds .* bytes; these shapes need"):
            ops.approx_matmul(storage, None, grad, 64, 80, 0.0, 4, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT,
                              torch.float32)
        with self.assertRaisesRegex(ValueError, "grad must be a 2-D tensor of the compressed input's 64 rows"):
            ops.approx_matmul(storage, None, grad[:48], 64, 8, 0.0, 4, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT,
                              torch.float32)
        with self.assertRaisesRegex(ValueError, "grad must be a 2-D tensor"):
            ops.approx_matmul(storage, None, grad[0], 64, 8, 0.0, 4, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT,
                              torch.float32)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, "k"):
            ops.approx_matmul(storage, None, grad, 64, 8, 0.0, 65, torch.float32, torch.float32, pammcuda.GRADIENT_BY_INPUT,
                              torch.float32)
        with self.assertRaisesRegex(ValueError, "plan is given for CPU storage"):
            ops.approx_matmul(storage, torch.empty(8, dtype=torch.uint8), grad, 64, 8, 0.0, 4, torch.float32, torch.float32,
                              pammcuda.GRADIENT_BY_INPUT, torch.float32)
        with self.assertRaisesRegex(ValueError, "x is on cpu; project_and_compress runs on CUDA"):
            ops.project_and_compress(x, [torch.randn(4, 8)], SEED, 0.0, 4, INF, torch.float32)


class LibraryCallTests(unittest.TestCase):
    """The ops ask the library for sizes and k once per shape: a step's host cost is one call per kernel it queues."""

    def checked_calls(self, action):
        from unittest import mock
        from pammcuda import _native
        with mock.patch.object(_native, "check", wraps=_native.check) as check:
            action()
        return check.call_count

    def test_a_repeated_product_opens_and_multiplies_with_two_library_calls(self):
        x, grad = torch.randn(96, 8), torch.randn(96, 3)
        storage = ops.compress(x, SEED, 1 / 16, 0, INF, torch.float32)
        multiply = lambda: ops.approx_matmul(storage, None, grad, 96, 8, 1 / 16, 0, torch.float32, torch.float32,
                                             pammcuda.GRADIENT_BY_INPUT, torch.float32)
        first = multiply()
        self.assertEqual(self.checked_calls(multiply), 2, "pamm_cpu_compressed_open and pamm_cpu_approx_matmul")
        self.assertTrue(torch.equal(bits(multiply()), bits(first)))

    def test_a_repeated_compression_with_a_new_seed_makes_only_its_own_calls(self):
        x = torch.randn(96, 8)
        ops.compress(x, SEED, 1 / 16, 0, INF, torch.float32)
        # pamm_options_init for the seed's options and pamm_cpu_compress_into
        self.assertEqual(self.checked_calls(lambda: ops.compress(x, torch.tensor(99), 1 / 16, 0, INF, torch.float32)), 2)

    def test_a_refused_argument_is_refused_again_not_remembered(self):
        x = torch.randn(64, 8)
        for _ in range(2):
            with self.assertRaisesRegex(pammcuda.PammArgumentError, "alpha_dtype"):
                ops.compress(x, SEED, 0.0, 4, INF, torch.float16)
            with self.assertRaisesRegex(pammcuda.PammArgumentError, "k"):
                pammcuda.storage_bytes(64, 8, 65, torch.float32)


class FakeImplementationTests(unittest.TestCase):
    """The shapes torch.compile traces with, computed on meta tensors (no data, no library call that reads memory)."""

    def test_fake_outputs_have_the_real_shapes_and_dtypes(self):
        rows, cols = 1000, 48
        x = torch.empty(rows, cols, dtype=torch.bfloat16, device="meta")
        grad = torch.empty(rows, 7, dtype=torch.bfloat16, device="meta")
        k = pammcuda.resolve_k(pammcuda.PammOptions(ratio=1 / 64), rows)
        with torch.inference_mode():  # torch 1.13 runs Meta kernels below autograd only
            storage = ops.compress(x, SEED, 1 / 64, 0, INF, torch.bfloat16)
            weight_grad = ops.approx_matmul(storage, None, grad, rows, cols, 1 / 64, 0, torch.bfloat16, torch.bfloat16,
                                            pammcuda.GRADIENT_BY_INPUT, torch.float32)
            input_grad = ops.approx_matmul(storage, None, grad, rows, cols, 1 / 64, 0, torch.bfloat16, torch.bfloat16,
                                           pammcuda.INPUT_BY_GRADIENT, torch.bfloat16)
            plan = ops.prepare_products(storage, rows, cols, 1 / 64, 0, torch.bfloat16, torch.bfloat16)
            ys, fused_storage = ops.project_and_compress(x, [torch.empty(size, cols, dtype=torch.bfloat16, device="meta")
                                                             for size in (5, 3, 4)], SEED, 1 / 64, 0, INF, torch.float32)
            batch = ops.approx_matmul_batch(storage, plan, [grad, grad[:, :3]], rows, cols, 1 / 64, 0, torch.bfloat16, torch.bfloat16,
                                            pammcuda.GRADIENT_BY_INPUT, torch.bfloat16)
        self.assertEqual((storage.device.type, storage.dtype), ("meta", torch.uint8))
        self.assertEqual(storage.numel(), pammcuda.storage_bytes(rows, cols, k, torch.bfloat16, torch.bfloat16))
        self.assertEqual((weight_grad.shape, weight_grad.dtype), ((7, cols), torch.float32))
        self.assertEqual((input_grad.shape, input_grad.dtype), ((cols, 7), torch.bfloat16))
        self.assertEqual(plan.numel(), pammcuda.product_plan_bytes(rows, cols, k, torch.bfloat16))
        self.assertEqual([(y.shape, y.dtype) for y in ys], [((rows, size), torch.bfloat16) for size in (5, 3, 4)])
        self.assertEqual(fused_storage.numel(), pammcuda.storage_bytes(rows, cols, k, torch.bfloat16))
        self.assertEqual([(y.shape, y.dtype, y.device.type) for y in batch], [((7, cols), torch.bfloat16, "meta"), ((3, cols), torch.bfloat16, "meta")])

    def test_a_real_compression_has_the_fake_size(self):
        for rows, cols, ratio, k in ((300, 24, 0.0, 12), (4096, 8, 1 / 512, 0), (70, 3, 1.0, 0)):
            x = torch.randn(rows, cols)
            with torch.inference_mode():
                fake = ops.compress(x.to("meta"), SEED, ratio, k, INF, torch.float32)
            self.assertEqual(ops.compress(x, SEED, ratio, k, INF, torch.float32).shape, fake.shape)


@unittest.skipUnless(torch_at_least(2, 4), f"torch.library.opcheck and traceable custom ops need torch >= 2.4, this is {torch.__version__}")
class TraceableOpTests(unittest.TestCase):
    def test_opcheck_passes_for_every_op_on_the_cpu(self):
        x, grad = torch.randn(128, 16), torch.randn(128, 5)
        storage = ops.compress(x, SEED, 0.0, 8, 0.5, torch.float32)
        checks = ("test_schema", "test_faketensor")
        torch.library.opcheck(ops.compress, (x, SEED, 0.0, 8, 0.5, torch.float32), test_utils=checks)
        torch.library.opcheck(ops.approx_matmul, (storage, None, grad, 128, 16, 0.0, 8, torch.float32, torch.float32,
                                                  pammcuda.GRADIENT_BY_INPUT, torch.float32), test_utils=checks)
        torch.library.opcheck(ops.approx_matmul_batch, (storage, None, [grad, grad[:, :2].contiguous()], 128, 16, 0.0, 8, torch.float32,
                                                        torch.float32, pammcuda.GRADIENT_BY_INPUT, torch.float32), test_utils=checks)

    def check_compiles_without_graph_breaks(self, device, fused_projection=False, backend="aot_eager"):
        torch.manual_seed(0)
        dtype = torch.float32 if device == "cpu" else torch.bfloat16
        block = torch.nn.Sequential(pammcuda.PammLinear(16, 16, ratio=1 / 4, seed=3)).to(device, dtype)
        qkv = pammcuda.PammQKV(16, 8, bias=False, ratio=1 / 4, seed=4, fused_projection=fused_projection).to(device, dtype)

        def step(x):
            q, k, v = qkv(block(x))
            return (q * k + v).float().square().mean()

        x = torch.randn(2, 64, 16, device=device, dtype=dtype)
        explanation = torch._dynamo.explain(step)(x)
        self.assertEqual(explanation.graph_break_count, 0, explanation.break_reasons)
        torch._dynamo.reset()
        eager_loss = step(x)
        eager_loss.backward()
        eager = [p.grad.clone() for p in (*block.parameters(), *qkv.parameters())]
        for p in (*block.parameters(), *qkv.parameters()):
            p.grad = None
        compiled_loss = torch.compile(step, fullgraph=True, backend=backend)(x)
        compiled_loss.backward()
        torch._dynamo.reset()
        # Inductor fuses and reorders the float arithmetic around the ops (the ops' own results are bitwise), so the
        # loss and gradients agree to the rounding of their dtype: float32 to 1e-3, bfloat16 to its 8-bit mantissa
        # relative to the gradient's scale. aot_eager runs the same kernels as eager: the loss is equal.
        if backend == "aot_eager":
            torch.testing.assert_close(compiled_loss, eager_loss)
        else:
            torch.testing.assert_close(compiled_loss, eager_loss, rtol=1e-3 if dtype == torch.float32 else 1.6e-2, atol=1e-5)
        for expected, p in zip(eager, (*block.parameters(), *qkv.parameters())):
            if dtype == torch.float32:
                torch.testing.assert_close(p.grad, expected, rtol=1e-3, atol=1e-5)
            else:
                torch.testing.assert_close(p.grad, expected, rtol=1.6e-2, atol=1.6e-2 * expected.abs().max().item())

    def test_compiled_layers_have_no_graph_break_on_the_cpu(self):
        self.check_compiles_without_graph_breaks("cpu")

    def test_inductor_compiled_layers_give_the_eager_gradients_on_the_cpu(self):
        reason = inductor_skip_reason("cpu")
        if reason:
            self.skipTest(reason)
        self.check_compiles_without_graph_breaks("cpu", backend="inductor")

    def test_inductor_compiled_layers_give_the_eager_gradients_on_cuda(self):
        # The sampling seed is a CPU scalar in the graph, which Inductor may compile a C++ kernel for: both toolchains.
        reason = cuda_skip_reason() or inductor_skip_reason("cuda") or inductor_skip_reason("cpu")
        if reason:
            self.skipTest(reason)
        self.check_compiles_without_graph_breaks("cuda", backend="inductor")

    def test_compiled_layers_have_no_graph_break_on_cuda(self):
        reason = cuda_skip_reason()
        if reason:
            self.skipTest(reason)
        self.check_compiles_without_graph_breaks("cuda")

    def test_compiled_one_gemm_qkv_has_no_graph_break_on_cuda(self):
        reason = cuda_skip_reason()
        if reason:
            self.skipTest(reason)
        self.check_compiles_without_graph_breaks("cuda", fused_projection=True)


class CudaOpTests(unittest.TestCase):
    def setUp(self):
        reason = cuda_skip_reason()
        if reason:
            self.skipTest(reason)

    def test_a_plan_from_the_op_gives_the_product_without_one_bitwise(self):
        x = torch.randn(4096, 64, device="cuda", dtype=torch.bfloat16)
        grad = torch.randn(4096, 32, device="cuda", dtype=torch.bfloat16)
        storage = ops.compress(x, SEED, 1 / 64, 0, INF, torch.float32)
        plan = ops.prepare_products(storage, 4096, 64, 1 / 64, 0, torch.bfloat16, torch.float32)
        self.assertEqual(plan.numel(), pammcuda.product_plan_bytes(4096, 64, 64, torch.bfloat16))
        arguments = (4096, 64, 1 / 64, 0, torch.bfloat16, torch.float32, pammcuda.GRADIENT_BY_INPUT, torch.float32)
        without = ops.approx_matmul(storage, None, grad, *arguments)
        with_plan = [ops.approx_matmul(storage, plan, grad, *arguments) for _ in range(3)]
        expected = pammcuda.compress(x, pammcuda.PammOptions(ratio=1 / 64, seed=17)).matmul(grad, out_dtype=torch.float32)
        for actual in (*with_plan, without):
            self.assertTrue(torch.equal(bits(actual), bits(expected)))

    def test_a_batch_is_one_library_call_and_each_product_is_its_own_bitwise(self):
        from unittest import mock
        from pammcuda import _native
        x = torch.randn(4096, 64, device="cuda", dtype=torch.bfloat16)
        grads = [torch.randn(4096, m, device="cuda", dtype=torch.bfloat16) for m in (64, 16, 16)]
        storage = ops.compress(x, SEED, 1 / 64, 0, INF, torch.float32)
        plan = ops.prepare_products(storage, 4096, 64, 1 / 64, 0, torch.bfloat16, torch.float32)
        arguments = (4096, 64, 1 / 64, 0, torch.bfloat16, torch.float32, pammcuda.GRADIENT_BY_INPUT, torch.bfloat16)
        ops.approx_matmul_batch(storage, plan, grads, *arguments)
        with mock.patch.object(_native, "check", wraps=_native.check) as check:
            batch = ops.approx_matmul_batch(storage, plan, grads, *arguments)
        self.assertEqual(check.call_count, 2, "pamm_compressed_open and pamm_approx_matmul_batch")
        for grad, product in zip(grads, batch):
            self.assertTrue(torch.equal(bits(product), bits(ops.approx_matmul(storage, plan, grad, *arguments))))

    def test_project_and_compress_gives_the_exact_projection_and_the_compress_storage_size(self):
        x = torch.randn(512, 32, device="cuda", dtype=torch.bfloat16)
        weights = [torch.randn(8, 32, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
        ys, storage = ops.project_and_compress(x, weights, SEED, 0.0, 16, INF, torch.float32)
        for y, weight in zip(ys, weights):
            torch.testing.assert_close(y, x @ weight.T, rtol=2 ** -7, atol=1e-2)
        self.assertEqual(storage.numel(), pammcuda.storage_bytes(512, 32, 16, torch.bfloat16))


if __name__ == "__main__":
    unittest.main()
