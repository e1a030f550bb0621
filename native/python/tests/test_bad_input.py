"""
What a framework can hand over, wrong: every case gets a Python exception that names the argument, nothing crashes,
and nothing leaks (native handles counted with live_compressed_count, process memory after many steps).
"""

import gc
import math
import os
import re
import unittest

import torch
from torch import nn

import pammcuda
from distributed_training import dtensor_skip_reason
from requirements import cuda_skip_reason
from tiny_models import LlamaAttention

OPTIONS = pammcuda.PammOptions(k=2, seed=1)


def live_compressed():
    gc.collect()
    return pammcuda.live_compressed_count()


class CompressArgumentTests(unittest.TestCase):
    def test_tensors_that_are_not_contiguous_matrices_name_x(self):
        wide = torch.randn(10, 8)
        cases = {"transposed": wide.T, "strided": wide[:, ::2], "expanded": torch.randn(1, 4).expand(10, 4),
                 "3-D": torch.randn(2, 5, 4), "1-D": torch.randn(10)}
        for label, x in cases.items():
            with self.subTest(label), self.assertRaisesRegex(ValueError, r"^x must be a contiguous 2-D tensor, got shape"):
                pammcuda.compress(x, OPTIONS)

    def test_unsupported_dtypes_name_x_and_the_dtype(self):
        for dtype in (torch.float64, torch.int32, torch.int8, torch.bool, torch.complex64):
            x = torch.ones(10, 4, dtype=dtype)
            with self.subTest(dtype=dtype), self.assertRaisesRegex(TypeError, f"^x is {re.escape(str(dtype))}; PAMM takes float32"):
                pammcuda.compress(x, OPTIONS)

    def test_a_tensor_on_a_device_pamm_does_not_run_on_names_x(self):
        with self.assertRaisesRegex(ValueError, r"^x is on meta; PAMM runs on CPU and CUDA tensors"):
            pammcuda.compress(torch.empty(10, 4, device="meta"), OPTIONS)

    def test_a_view_with_a_storage_offset_compresses_its_own_rows(self):
        base = torch.randn(11, 4)
        grad = torch.randn(10, 3)
        view = base[1:]
        self.assertEqual(view.storage_offset(), 4)
        expected = pammcuda.compress(view.clone(), OPTIONS).matmul(grad)
        torch.testing.assert_close(pammcuda.compress(view, OPTIONS).matmul(grad), expected, rtol=0, atol=0)

    def test_options_outside_their_ranges_are_named(self):
        x = torch.randn(10, 4)
        cases = {"options->ratio": pammcuda.PammOptions(ratio=0.0), "options->k": pammcuda.PammOptions(k=11),
                 "options->epsilon": pammcuda.PammOptions(epsilon=float("nan"))}
        for name, options in cases.items():
            with self.subTest(name), self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape(name)):
                pammcuda.compress(x, options)

    def test_layer_options_are_checked_when_the_layer_is_built(self):
        for arguments, message in (({"ratio": 0.0}, r"ratio must be in \(0, 1\]"), ({"k": -1}, "k must be an int >= 0"),
                                   ({"epsilon": math.nan}, "epsilon must be >= 0"), ({"seed": -1}, r"seed must be None .* \[0, 2\^64\)"),
                                   ({"seed": 2 ** 64}, r"seed must be None"), ({"alpha_dtype": torch.float16}, "alpha_dtype must be")):
            for layer in (lambda: pammcuda.PammLinear(8, 4, **arguments), lambda: pammcuda.PammQKV(8, 4, **arguments)):
                with self.subTest(arguments=arguments), self.assertRaisesRegex(ValueError, message):
                    layer()

    def test_a_seed_above_2_to_the_63_samples_as_that_seed(self):
        # The ops carry the seed in an int64 tensor: the top half of the uint64 range travels as its negative twin.
        x, grad = torch.randn(64, 8), torch.randn(64, 3)
        seed = 2 ** 64 - 5
        layer = pammcuda.PammLinear(8, 3, bias=False, k=4, seed=seed)
        (weight_grad,) = torch.autograd.grad(layer(x), layer.weight, grad)
        expected = pammcuda.compress(x, pammcuda.PammOptions(k=4, seed=seed)).matmul(grad)
        self.assertTrue(torch.equal(weight_grad, expected))
        other = pammcuda.compress(x, pammcuda.PammOptions(k=4, seed=2 ** 63 - 5)).matmul(grad)
        self.assertFalse(torch.equal(weight_grad, other), "the seed's top bit was kept")

    def test_a_seed_outside_the_uint64_range_is_named(self):
        x = torch.randn(16, 4)
        with self.assertRaisesRegex(ValueError, r"seed must be in \[0, 2\^64\), got -1"):
            pammcuda.compress(x, pammcuda.PammOptions(k=2, seed=-1))
        with self.assertRaisesRegex(TypeError, "seed must be an integer, got 1.5"):
            pammcuda.compress(x, pammcuda.PammOptions(k=2, seed=1.5))

    def test_the_compressed_form_outlives_its_input(self):
        # Compression copies what it keeps: the input may be freed (or overwritten) before the backward pass.
        x, grad = torch.randn(12, 4), torch.randn(12, 3)
        expected = pammcuda.compress(x.clone(), OPTIONS).matmul(grad)
        compressed = pammcuda.compress(x, OPTIONS)
        x.fill_(float("nan"))
        del x
        gc.collect()
        torch.testing.assert_close(compressed.matmul(grad), expected, rtol=0, atol=0)


class MatmulArgumentTests(unittest.TestCase):
    def setUp(self):
        self.compressed = pammcuda.compress(torch.randn(10, 4), OPTIONS)
        self.addCleanup(delattr, self, "compressed")  # unittest keeps finished tests: free the handle with the test

    def test_gradients_that_are_not_contiguous_matrices_name_grad(self):
        for label, grad in {"transposed": torch.randn(3, 10).T, "1-D": torch.randn(10), "strided": torch.randn(10, 6)[:, ::2]}.items():
            with self.subTest(label), self.assertRaisesRegex(ValueError, r"^grad must be a contiguous 2-D tensor"):
                self.compressed.matmul(grad)

    def test_a_gradient_of_another_dtype_device_or_batch_is_named(self):
        with self.assertRaisesRegex(TypeError, r"^grad is torch.float64"):
            self.compressed.matmul(torch.randn(10, 3, dtype=torch.float64))
        with self.assertRaisesRegex(ValueError, r"^grad is on meta, the compressed activation on cpu"):
            self.compressed.matmul(torch.empty(10, 3, device="meta"))
        with self.assertRaisesRegex(ValueError, r"^grad has 9 rows, the compressed activation 10"):
            self.compressed.matmul(torch.randn(9, 3))

    def test_an_unsupported_output_dtype_or_layout_is_named(self):
        with self.assertRaisesRegex(TypeError, r"^out is torch.float64"):
            self.compressed.matmul(torch.randn(10, 3), out_dtype=torch.float64)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, r"layout = 7 is not a pamm_layout"):
            self.compressed.matmul(torch.randn(10, 3), layout=7)

    def test_nan_in_the_gradient_propagates_as_in_an_exact_product(self):
        grad = torch.randn(10, 3)
        grad[4] = float("nan")  # every output sums a NaN term, in the exact product as in PAMM's
        self.assertTrue(self.compressed.matmul(grad).isnan().all())


class LayerInputTests(unittest.TestCase):
    """A converted projection (and PammLinear) given unusual or wrong inputs does what nn.Linear does."""

    def setUp(self):
        torch.manual_seed(9)
        self.attention = LlamaAttention(8, 2, 2)
        self.reference = nn.Linear(8, 8, bias=False)
        self.reference.load_state_dict(self.attention.q_proj.state_dict())
        pammcuda.convert(self.attention, ratio=1.0)
        self.linear = pammcuda.PammLinear(8, 8, bias=False, ratio=1.0)
        self.linear.load_state_dict(self.reference.state_dict())

    def assert_same_error(self, x):
        """nn.Linear raises on x; the PAMM layers raise the same error and compress nothing."""
        with self.assertRaises(Exception) as expected:
            self.reference(x)
        before = live_compressed()
        for layer in (self.attention.q_proj, self.linear):
            with self.subTest(layer=type(layer).__name__), self.assertRaises(type(expected.exception)) as raised:
                layer(x)
            self.assertEqual(str(raised.exception), str(expected.exception))
        self.assertEqual(live_compressed(), before)

    def test_a_non_contiguous_input_gives_nn_linears_output_and_gradient(self):
        x = torch.randn(6, 3, 8).transpose(0, 1)  # (3, 6, 8), not contiguous
        for layer in (self.attention.q_proj, self.linear):
            with self.subTest(layer=type(layer).__name__):
                x_pamm, x_ref = x.detach().requires_grad_(), x.detach().clone().requires_grad_()
                output, expected = layer(x_pamm), self.reference(x_ref)
                torch.testing.assert_close(output, expected, rtol=0, atol=0)
                grad = torch.randn_like(output)
                (weight_grad,) = torch.autograd.grad(output, layer.weight, grad, retain_graph=True)
                (reference_grad,) = torch.autograd.grad(expected, self.reference.weight, grad, retain_graph=True)
                torch.testing.assert_close(weight_grad, reference_grad, rtol=0, atol=18 * 2 ** -23 * reference_grad.abs().max().item())

    def test_wrong_features_dtype_or_integer_input_raise_nn_linears_error(self):
        self.assert_same_error(torch.randn(4, 7))
        self.assert_same_error(torch.randn(4, 8, dtype=torch.float64))
        self.assert_same_error(torch.ones(4, 8, dtype=torch.int64))

    def test_a_weight_of_another_dtype_raises_nn_linears_error(self):
        for module in (self.attention.q_proj, self.reference, self.linear):
            module.to(torch.bfloat16)
        self.assert_same_error(torch.randn(4, 8))

    def test_a_meta_input_infers_shapes_as_nn_linear_does(self):
        output = self.attention.q_proj(torch.empty(2, 5, 8, device="meta"))
        self.assertEqual((output.device.type, tuple(output.shape)), ("meta", (2, 5, 8)))

    def test_an_empty_batch_gives_nn_linears_zero_gradient(self):
        qkv = pammcuda.PammQKV(8, 4, ratio=0.5)
        before = live_compressed()
        for layer in (self.linear, self.attention.q_proj):
            with self.subTest(layer=type(layer).__name__):
                x = torch.randn(0, 3, 8, requires_grad=True)
                output = layer(x)
                self.assertEqual(tuple(output.shape), (0, 3, 8))
                (weight_grad,) = torch.autograd.grad(output.sum(), layer.weight)
                self.assertTrue(torch.equal(weight_grad, torch.zeros_like(layer.weight)))
        q, k, v = qkv(torch.randn(0, 8))
        (q.sum() + k.sum() + v.sum()).backward()
        self.assertTrue(torch.equal(qkv.q.weight.grad, torch.zeros(4, 8)))
        self.assertEqual(live_compressed(), before, "nothing to summarise, nothing compressed")

    def test_double_backward_is_refused_not_silently_constant(self):
        qkv = pammcuda.PammQKV(8, 4, ratio=0.5)
        for name, layer in (("PammLinear", self.linear), ("converted", self.attention.q_proj), ("PammQKV", qkv)):
            with self.subTest(layer=name):
                x = torch.randn(2, 16, 8, requires_grad=True)
                outputs = layer(x)
                loss = sum(output.square().sum() for output in (outputs if isinstance(outputs, tuple) else (outputs,)))
                with self.assertRaisesRegex(RuntimeError, "PAMM layers do not support double backward"):
                    torch.autograd.grad(loss, layer.weight if name != "PammQKV" else qkv.q.weight, create_graph=True)

    def test_a_sparse_input_is_rejected_naming_the_input(self):
        with self.assertRaisesRegex(ValueError, r"^input of PammSharedLinear is a torch.sparse_coo tensor"):
            self.attention.q_proj(torch.randn(4, 8).to_sparse())


@unittest.skipIf(dtensor_skip_reason() is not None, dtensor_skip_reason())
class DistributedTensorTests(unittest.TestCase):
    """A DTensor (tensor parallelism) has no data of its own: PAMM names it instead of reading a null pointer."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        from torch.distributed.device_mesh import init_device_mesh
        cls.directory = tempfile.TemporaryDirectory()
        store = torch.distributed.FileStore(os.path.join(cls.directory.name, "store"), 1)
        torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
        cls.mesh = init_device_mesh("cpu", (1,))

    @classmethod
    def tearDownClass(cls):
        torch.distributed.destroy_process_group()
        cls.directory.cleanup()

    def replicated(self, tensor):
        from torch.distributed.tensor import DTensor, Replicate
        return DTensor.from_local(tensor, self.mesh, [Replicate()])

    def test_compress_names_a_dtensor_x(self):
        with self.assertRaisesRegex(TypeError, r"^x is a DTensor \(placements \(Replicate\(\),\)\); PAMM's layers and functions "
                                               r"read plain .* convert the model's nn.Linear projections with pammcuda.convert"):
            pammcuda.compress(self.replicated(torch.randn(10, 4)), OPTIONS)

    def test_a_layer_given_a_dtensor_input_raises_nn_linears_error(self):
        reference, layer = nn.Linear(8, 8), pammcuda.PammQKV(8, 8, ratio=0.5)
        x = self.replicated(torch.randn(2, 3, 8))
        with self.assertRaises(Exception) as expected:
            reference(x)
        before = live_compressed()
        with self.assertRaises(type(expected.exception)) as raised:
            layer(x)
        self.assertEqual(str(raised.exception), str(expected.exception))
        self.assertEqual(live_compressed(), before)

    def test_pamm_qkv_under_tensor_parallelism_names_its_weight_and_compresses_nothing(self):
        # PammQKV reads q's weight itself: q's forward, where the plan's hooks would make a DTensor of x, never runs.
        from torch.distributed.tensor.parallel import ColwiseParallel, parallelize_module
        qkv = parallelize_module(pammcuda.PammQKV(8, 8, ratio=0.5), self.mesh,
                                 {"q": ColwiseParallel(), "k": ColwiseParallel(), "v": ColwiseParallel()})
        before = live_compressed()
        with self.assertRaisesRegex(TypeError, r"^q.weight is a DTensor .*shard them with ColwiseParallel"):
            qkv(torch.randn(2, 3, 8))
        self.assertEqual(live_compressed(), before)

    def test_converted_projections_in_another_layout_than_colwise_name_it(self):
        from torch.distributed.tensor.parallel import RowwiseParallel, parallelize_module
        row_wise = parallelize_module(pammcuda.convert(LlamaAttention(8, 2, 2), ratio=0.5), self.mesh,
                                      {"q_proj": RowwiseParallel()})
        unsharded = pammcuda.convert(LlamaAttention(8, 2, 2), ratio=0.5)
        cases = {
            "row-wise": (lambda: row_wise(torch.randn(2, 3, 8)), r"its input has placements \(Shard\(dim=2\),\)"),
            "a DTensor input of plain weights": (lambda: unsharded.q_proj(self.replicated(torch.randn(2, 3, 8))),
                                                 r"its input is a DTensor and its weight a plain tensor"),
        }
        for label, (call, message) in cases.items():
            before = live_compressed()
            with self.subTest(label), self.assertRaisesRegex(TypeError, r"^PammSharedLinear under tensor parallelism: "
                                                                        + message + r"\. A projection converted by pammcuda.convert takes ColwiseParallel's layout"):
                call()
            self.assertEqual(live_compressed(), before)


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaDeviceMismatchTests(unittest.TestCase):
    def test_a_gradient_on_another_device_is_named(self):
        compressed = pammcuda.compress(torch.randn(64, 16, device="cuda"), OPTIONS)
        with self.assertRaisesRegex(ValueError, r"^grad is on cpu, the compressed activation on cuda:0"):
            compressed.matmul(torch.randn(64, 8))

    def test_a_layer_given_an_input_on_another_device_raises_nn_linears_error(self):
        attention = pammcuda.convert(LlamaAttention(16, 2, 2), ratio=0.5).cuda()
        reference = nn.Linear(16, 16, bias=False).cuda()
        x = torch.randn(4, 16)  # on the CPU
        with self.assertRaises(RuntimeError) as expected:
            reference(x)
        before = live_compressed()
        for layer in (attention.q_proj, pammcuda.PammLinear(16, 16, bias=False).cuda()):
            with self.subTest(layer=type(layer).__name__), self.assertRaises(RuntimeError) as raised:
                layer(x)
            self.assertEqual(str(raised.exception), str(expected.exception))
        self.assertEqual(live_compressed(), before)


class TinyQKV(nn.Module):
    """Only the three projections of an attention, so that a step is mostly PAMM's work."""

    def __init__(self, d_model):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(d_model, d_model) for _ in range(3))

    def forward(self, x):
        return self.q_proj(x) * self.k_proj(x) + self.v_proj(x)


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class LeakTests(unittest.TestCase):
    def test_many_training_steps_free_every_compression(self):
        torch.manual_seed(10)
        model = pammcuda.convert(TinyQKV(32), ratio=1 / 16)
        qkv = pammcuda.PammQKV(32, 32, ratio=1 / 16)
        parameters = list(model.parameters()) + list(qkv.parameters())
        optimizer = torch.optim.SGD(parameters, lr=1e-3)
        before = live_compressed()
        for step in range(100):
            x = torch.randn(4, 64, 32)
            optimizer.zero_grad()
            q, k, v = qkv(model(x))
            # convert's shared group keeps a compression object; PammQKV keeps only a storage tensor.
            self.assertEqual(pammcuda.live_compressed_count(), before + 1, f"step {step}: one compression per group")
            (q * k + v).square().mean().backward()
            optimizer.step()
            del q, k, v
            self.assertEqual(pammcuda.live_compressed_count(), before, f"step {step}: a compression outlived its graph")

    @unittest.skipUnless(os.path.exists("/proc/self/statm"), "needs Linux's /proc/self/statm")
    def test_process_memory_stays_flat_over_many_steps(self):
        # Each step's input is 2 MiB: keeping inputs (or their compressions' graphs) alive grows the process by 100 MiB
        # every 50 steps. Growth that is no leak comes in steps and stops: the library's .NET heap grows until its
        # next collection (by a budget the runtime sizes from the machine's caches) and the C allocator keeps freed
        # blocks. So the test takes the smallest growth of three rounds of 50 steps after a warm-up, which a leak
        # keeps at 100 MiB and a heap that collects brings near zero in at least one round; the bound is half a leak's.
        model = pammcuda.convert(TinyQKV(64), ratio=1 / 128)
        x_shape = (8, 1024, 64)
        before = live_compressed()

        def step():
            x = torch.randn(*x_shape, requires_grad=True)
            model(x).sum().backward()

        for _ in range(10):
            step()
        growths = []
        for _ in range(3):
            gc.collect()
            start = resident_bytes()
            for _ in range(50):
                step()
            gc.collect()
            growths.append(resident_bytes() - start)
        print(f"\ninfo: resident memory grew by {', '.join(f'{g / 2 ** 20:.1f}' for g in growths)} MiB over three rounds "
              "of 50 steps of 2 MiB inputs")
        self.assertLess(min(growths), 50 * 2 ** 20)
        self.assertEqual(live_compressed(), before)

    @unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
    def test_cuda_memory_stays_flat_over_many_steps(self):
        model = pammcuda.convert(TinyQKV(256).cuda(), ratio=1 / 64)
        before = live_compressed()

        def step():
            model(torch.randn(8, 512, 256, device="cuda", requires_grad=True)).sum().backward()

        step()
        torch.cuda.synchronize()
        allocated = torch.cuda.memory_allocated()
        for _ in range(200):
            step()
        torch.cuda.synchronize()
        self.assertEqual(torch.cuda.memory_allocated(), allocated)
        self.assertEqual(live_compressed(), before)

    def test_an_exception_between_siblings_leaks_nothing(self):
        attention = pammcuda.convert(LlamaAttention(8, 2, 2), ratio=0.5)

        def fail(*args):
            raise RuntimeError("a hook failed after q_proj compressed")

        handle = attention.k_proj.register_forward_hook(fail)
        before = live_compressed()
        with self.assertRaisesRegex(RuntimeError, "a hook failed"):
            attention(torch.randn(2, 4, 8))
        self.assertEqual(live_compressed(), before)
        handle.remove()
        attention(torch.randn(2, 4, 8)).sum().backward()  # the module still works
        self.assertEqual(live_compressed(), before)

    def test_a_retained_graph_keeps_its_compression_until_freed(self):
        attention = pammcuda.convert(LlamaAttention(8, 2, 2), ratio=0.5)
        before = live_compressed()
        output = attention(torch.randn(2, 4, 8))
        output.sum().backward(retain_graph=True)
        first = attention.q_proj.weight.grad.clone()
        self.assertEqual(live_compressed(), before + 1)
        attention.zero_grad()
        output.sum().backward()  # the same compression serves the second backward
        torch.testing.assert_close(attention.q_proj.weight.grad, first, rtol=0, atol=0)
        del output
        self.assertEqual(live_compressed(), before)


if __name__ == "__main__":
    unittest.main()
