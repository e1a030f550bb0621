"""Tests of the PyTorch layer on libpammcuda's CPU backend (run with PAMMCUDA_LIB set; see scripts/native-tests.sh)."""

import gc
import math
import os
import platform
import re
import shutil
import subprocess
import tempfile
import unittest
import weakref
from unittest import mock

import torch

import pammcuda
from pammcuda import _native
from requirements import cuda_skip_reason


def clustered(rows, cols, directions, noise, generator):
    """Rows near `directions` random lines, with random scales and relative noise: the structure PAMM relies on."""
    basis = torch.randn(directions, cols, generator=generator)
    scales = 0.5 + torch.rand(rows, 1, generator=generator)
    picks = torch.arange(rows) % directions
    return scales * basis[picks] + noise * torch.randn(rows, cols, generator=generator)


def relative_error(approx, exact):
    return ((approx - exact).norm() / exact.norm()).item()


def twin_linear(layer):
    """An nn.Linear with the same parameters as `layer`."""
    reference = torch.nn.Linear(layer.in_features, layer.out_features, layer.bias is not None, dtype=layer.weight.dtype)
    reference.load_state_dict(layer.state_dict())
    return reference


def assert_sums_close(actual, expected, terms):
    """Equal up to float32 summation order: each element is a sum of `terms` products."""
    tolerance = terms * 2 ** -23 * expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=0, atol=tolerance)


def live_compressed():
    """
    Live compressed activations once unreachable objects are collected, so that garbage of an earlier test (a graph
    a failed test's traceback kept, say) cannot be freed in the middle of a count. Engines are not counted: the
    package caches them, so whether a test creates one depends on which tests ran before it.
    """
    gc.collect()
    return pammcuda.live_compressed_count()


def expected_stored_bytes(rows, cols, k, element_bytes):
    # Generators, an assignment of 8, 16 or 32 bits (the fewest that hold k - 1) and a float32 coefficient per row,
    # one int32 dropped-row count.
    assignment_bytes = 1 if k <= 256 else 2 if k <= 65536 else 4
    return k * cols * element_bytes + rows * (assignment_bytes + 4) + 4


def weight_gradient(layer, x, grad):
    """dL/dW of one forward and backward pass, without accumulating into layer.weight.grad."""
    (result,) = torch.autograd.grad(layer(x), layer.weight, grad)
    return result


def compressed_product(x, grad, options):
    """grad^T x from a compression of x with `options`: what a PammLinear pass with those options gives as dL/dW."""
    return pammcuda.compress(x, options).matmul(grad)


class LibraryTests(unittest.TestCase):
    def test_version_is_semantic(self):
        self.assertRegex(pammcuda.version(), r"^\d+\.\d+\.\d+$")

    def test_cuda_unavailable_has_a_reason(self):
        available, reason = pammcuda.cuda_available()
        if available:
            self.assertEqual(reason, "")
        else:
            self.assertTrue(reason.strip(), "CUDA is unavailable but the reason is empty")


    def test_a_cpu_without_avx2_or_fma_is_refused_by_name_before_loading(self):
        # What pammcuda._native.lib() checks on x86-64 before ctypes loads the library, whose start-up would end the
        # process on such a CPU: a Sandy Bridge's flags (AVX, no AVX2, FMA or BMI) and a Haswell's (everything).
        sandy_bridge = {"sse4_2", "popcnt", "avx", "aes", "pclmulqdq"}
        with self.assertRaisesRegex(ImportError, r"x86-64-v3 .* lacks avx2, bmi1, bmi2, f16c, fma, movbe$"):
            _native.check_cpu(sandy_bridge)
        haswell = sandy_bridge | {"avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "abm"}
        _native.check_cpu(haswell)

    def test_the_cpu_backend_runs_at_the_width_the_library_is_built_for(self):
        bits = pammcuda.cpu_vector_bits()
        self.assertIn(bits, (32, 128, 256, 512))
        flags = _native._cpu_flags() or set()
        if platform.machine() == "x86_64" and {"avx2", "fma"} <= flags:
            # A narrower width means the library was built without AVX2/FMA (PammCuda.Native.csproj's
            # IlcInstructionSet), which makes every fused multiply-add of its CPU kernels a software call.
            self.assertGreaterEqual(bits, 256)

    def test_a_library_of_another_abi_or_none_is_refused_by_what_it_is(self):
        # Stand-in libraries: one of ABI 1 (which lacks functions ABI 2 added) and one that is no PammCuda library.
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            self.skipTest("no C compiler to build the stand-in libraries")
        with tempfile.TemporaryDirectory() as folder:
            older, foreign = os.path.join(folder, "abi1.so"), os.path.join(folder, "foreign.so")
            for path, source in ((older, "int pamm_abi_version(void) { return 1; }"), (foreign, "int unrelated(void) { return 0; }")):
                subprocess.run([compiler, "-shared", "-fPIC", "-x", "c", "-", "-o", path], input=source.encode(), check=True)
            try:
                for path, message in ((older, rf"abi1\.so has ABI 1, this package needs {_native.ABI_VERSION}$"),
                                      (foreign, r"foreign\.so is not a PammCuda library: it has no pamm_abi_version$")):
                    _native.lib.cache_clear()
                    with mock.patch.dict(os.environ, {"PAMMCUDA_LIB": path}):
                        with self.assertRaisesRegex(ImportError, message):
                            _native.lib()
            finally:
                _native.lib.cache_clear()
        self.assertEqual(_native.lib().pamm_abi_version(), _native.ABI_VERSION, "the real library loads again")

    def test_this_cpu_runs_the_library(self):
        flags = _native._cpu_flags()
        if flags is None:
            self.skipTest("no /proc/cpuinfo")
        _native.check_cpu(flags)  # the library loaded, so this must agree


class PammLinearTests(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(1)

    def test_full_ratio_gives_nn_linear_gradients(self):
        layer = pammcuda.PammLinear(24, 10, ratio=1.0)
        reference = twin_linear(layer)
        x = torch.randn(3, 40, 24)
        x_pamm, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        target = torch.randn(3, 40, 10)
        torch.nn.functional.mse_loss(layer(x_pamm), target).backward()
        torch.nn.functional.mse_loss(reference(x_ref), target).backward()
        # r = 1 keeps every row as its own generator: only the float32 summation order differs.
        assert_sums_close(layer.weight.grad, reference.weight.grad, terms=120)
        assert_sums_close(layer.bias.grad, reference.bias.grad, terms=120)
        assert_sums_close(x_pamm.grad, x_ref.grad, terms=10)

    def test_forward_is_exact_at_any_ratio(self):
        layer = pammcuda.PammLinear(16, 8, ratio=1 / 64)
        x = torch.randn(128, 16)
        torch.testing.assert_close(layer(x), twin_linear(layer)(x), rtol=0, atol=0)

    def test_structured_input_gives_close_weight_gradient(self):
        generator = torch.Generator().manual_seed(7)
        rows, cols, out = 1024, 32, 16
        layer = pammcuda.PammLinear(cols, out, ratio=1 / 16, seed=3)
        reference = twin_linear(layer)
        x = clustered(rows, cols, directions=8, noise=0.01, generator=generator)
        grad = torch.randn(rows, out, generator=generator)
        layer(x).backward(grad)
        reference(x).backward(grad)
        error = relative_error(layer.weight.grad, reference.weight.grad)
        print(f"\ninfo: weight-gradient relative error, 8 lines + 1% noise, r = 1/16: {error:.4f}")
        self.assertLess(error, 0.05)
        # The bias and input gradients do not depend on the compression.
        torch.testing.assert_close(layer.bias.grad, reference.bias.grad)

    def test_bfloat16_full_ratio_matches_float32_reference(self):
        layer = pammcuda.PammLinear(16, 8, ratio=1.0, dtype=torch.bfloat16)
        x = torch.randn(64, 16).to(torch.bfloat16)
        grad = torch.randn(64, 8).to(torch.bfloat16)
        layer(x).backward(grad)
        self.assertEqual(layer.weight.grad.dtype, torch.bfloat16)
        exact = grad.float().T @ x.float()
        # One rounding of a float32 result to bfloat16: half an ulp of 2^-7 relative.
        torch.testing.assert_close(layer.weight.grad.float(), exact, rtol=2 ** -8, atol=1e-6)

    def test_graph_keeps_the_compressed_input_not_the_input(self):
        rows, cols, ratio = 512, 32, 1 / 32
        layer = pammcuda.PammLinear(cols, 8, ratio=ratio)
        y = layer(torch.randn(rows, cols))
        node = y.grad_fn
        k = round(ratio * rows)
        # The weight and one uint8 storage tensor holding C, f, alpha and eta: nothing of x's size.
        weight, storage = node.saved_tensors
        self.assertIs(weight, layer.weight)
        self.assertEqual(storage.dtype, torch.uint8)
        self.assertEqual(storage.numel(), pammcuda.storage_bytes(rows, cols, k, torch.float32))
        compressed = pammcuda.saved_compression(node)
        self.assertEqual(compressed.k, k)
        self.assertEqual(compressed.stored_bytes, expected_stored_bytes(rows, cols, k, 4))
        self.assertEqual(compressed.dense_bytes, rows * cols * 4)
        self.assertEqual(compressed.storage.data_ptr(), storage.data_ptr())

    def test_compressed_input_is_a_tensor_freed_with_the_graph(self):
        layer = pammcuda.PammLinear(8, 4, ratio=0.25)
        before = live_compressed()
        y = layer(torch.randn(32, 8))
        storage = weakref.ref(y.grad_fn.saved_tensors[1])
        # No native handle lives between forward and backward: the ops open the storage where they multiply.
        self.assertEqual(live_compressed(), before)
        self.assertIsNotNone(storage())
        y.sum().backward()
        del y
        gc.collect()
        self.assertIsNone(storage(), "the storage outlived its graph")
        self.assertEqual(live_compressed(), before)

    def test_no_grad_compresses_nothing(self):
        layer = pammcuda.PammLinear(8, 4)
        before = live_compressed()
        with torch.no_grad():
            y = layer(torch.randn(32, 8))
        self.assertEqual(live_compressed(), before)
        self.assertIsNone(y.grad_fn)

    def test_k_above_rows_is_rejected_naming_the_option(self):
        layer = pammcuda.PammLinear(8, 4, k=100)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape("options->k")):
            layer(torch.randn(10, 8))

    def test_negative_epsilon_is_rejected_when_the_layer_is_built(self):
        with self.assertRaisesRegex(ValueError, r"epsilon must be >= 0 \(inf keeps every row\), got -1.0"):
            pammcuda.PammLinear(8, 4, epsilon=-1.0)
        # The library's own check, for options that reach it some other way.
        with self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape("options->epsilon")):
            pammcuda.compress(torch.randn(10, 8), pammcuda.PammOptions(k=2, epsilon=-1.0))

    def test_each_pass_samples_with_a_fresh_seed_from_torchs_generator(self):
        layer = pammcuda.PammLinear(16, 4, k=8)
        x, grad = torch.randn(256, 16), torch.randn(256, 4)
        torch.manual_seed(42)
        first_seed, second_seed = (int(torch.randint(0, 2**62, ()).item()) for _ in range(2))
        torch.manual_seed(42)
        first, second = (weight_gradient(layer, x, grad) for _ in range(2))
        # Each pass is the compression with the seed that pass drew, so torch.manual_seed replays the run.
        torch.testing.assert_close(first, compressed_product(x, grad, pammcuda.PammOptions(k=8, seed=first_seed)), rtol=0, atol=0)
        torch.testing.assert_close(second, compressed_product(x, grad, pammcuda.PammOptions(k=8, seed=second_seed)), rtol=0, atol=0)
        self.assertNotEqual(first_seed, second_seed)
        self.assertFalse(torch.equal(first, second), "two passes sampled the same rows")

    def test_a_fixed_seed_samples_the_same_rows_at_every_pass(self):
        layer = pammcuda.PammLinear(16, 4, k=8, seed=5)
        x, grad = torch.randn(256, 16), torch.randn(256, 4)
        first, second = (weight_gradient(layer, x, grad) for _ in range(2))
        expected = compressed_product(x, grad, pammcuda.PammOptions(k=8, seed=5))
        torch.testing.assert_close(first, expected, rtol=0, atol=0)
        torch.testing.assert_close(second, expected, rtol=0, atol=0)

    def test_unsupported_dtype_is_rejected(self):
        layer = pammcuda.PammLinear(8, 4, dtype=torch.float64)
        with self.assertRaisesRegex(TypeError, "float64"):
            layer(torch.randn(10, 8, dtype=torch.float64))


class CompressedTests(unittest.TestCase):
    def test_both_layouts_are_transposes(self):
        x, grad = torch.randn(50, 6), torch.randn(50, 3)
        compressed = pammcuda.compress(x, pammcuda.PammOptions(k=10, seed=5))
        by_input = compressed.matmul(grad, layout=pammcuda.INPUT_BY_GRADIENT)
        by_gradient = compressed.matmul(grad, layout=pammcuda.GRADIENT_BY_INPUT)
        self.assertEqual(tuple(by_input.shape), (6, 3))
        torch.testing.assert_close(by_gradient, by_input.T, rtol=0, atol=0)

    def test_epsilon_zero_drops_rows_off_the_generators_lines(self):
        compressed = pammcuda.compress(torch.randn(40, 5), pammcuda.PammOptions(k=4, epsilon=0.0))
        self.assertEqual(compressed.read_dropped_rows(), 36)

    def test_gradient_of_another_batch_is_rejected(self):
        compressed = pammcuda.compress(torch.randn(20, 4), pammcuda.PammOptions(k=2))
        with self.assertRaisesRegex(ValueError, "rows"):
            compressed.matmul(torch.randn(21, 3))


class AttentionBlock(torch.nn.Module):
    """A single-head self-attention block whose Q, K and V projections train with PAMM."""

    def __init__(self, d_model, ratio):
        super().__init__()
        self.qkv = pammcuda.PammQKV(d_model, d_model, ratio=ratio)
        self.out = torch.nn.Linear(d_model, d_model)

    def forward(self, x):
        q, k, v = self.qkv(x)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return self.out(weights @ v)


class PammQKVTests(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(2)

    def test_full_ratio_gives_the_three_linear_gradients(self):
        qkv = pammcuda.PammQKV(12, 8, ratio=1.0)
        references = [twin_linear(layer) for layer in (qkv.q, qkv.k, qkv.v)]
        x = torch.randn(2, 30, 12)
        x_pamm, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        grads = [torch.randn(2, 30, 8) for _ in range(3)]
        torch.autograd.backward(qkv(x_pamm), grads)
        torch.autograd.backward([layer(x_ref) for layer in references], grads)
        for layer, reference in zip((qkv.q, qkv.k, qkv.v), references):
            assert_sums_close(layer.weight.grad, reference.weight.grad, terms=60)
            assert_sums_close(layer.bias.grad, reference.bias.grad, terms=60)
        assert_sums_close(x_pamm.grad, x_ref.grad, terms=24)

    def test_one_compression_serves_q_k_and_v(self):
        rows, d_model = 256, 16
        qkv = pammcuda.PammQKV(d_model, 8, ratio=1 / 8)
        before = live_compressed()
        q, k, v = qkv(torch.randn(rows, d_model))
        self.assertIs(q.grad_fn, v.grad_fn)
        storages = [t for t in q.grad_fn.saved_tensors if t.dtype == torch.uint8]
        self.assertEqual(len(storages), 1, "one compression for the three projections")
        self.assertEqual(storages[0].numel(), pammcuda.storage_bytes(rows, d_model, rows // 8, torch.float32))
        self.assertEqual(pammcuda.saved_compression(q.grad_fn).stored_bytes, expected_stored_bytes(rows, d_model, rows // 8, 4))
        self.assertEqual(live_compressed(), before)
        storage = weakref.ref(storages[0])
        del q, k, v, storages
        gc.collect()
        self.assertIsNone(storage())

    def test_backward_multiplies_the_needed_weight_gradients_in_one_batch(self):
        # The three weight gradients come from one batched op (on CUDA one library pass); a frozen weight is left out of
        # it, and each gradient is what its own product gives.
        from pammcuda import autograd, ops
        rows, d_model = 128, 16
        x, grads = torch.randn(rows, d_model), [torch.randn(rows, m) for m in (8, 4, 4)]
        for frozen in (None, 1):
            torch.manual_seed(3)
            qkv = pammcuda.PammQKV(d_model, 8, 4, 4, ratio=1 / 8)  # K and V narrower, as in grouped-query attention
            if frozen is not None:
                (qkv.q, qkv.k, qkv.v)[frozen].weight.requires_grad_(False)
            outputs = qkv(x)
            storage = pammcuda.saved_compression(outputs[0].grad_fn).storage
            with mock.patch.object(autograd.ops, "approx_matmul_batch", wraps=ops.approx_matmul_batch) as batch:
                torch.autograd.backward(outputs, grads)
            self.assertEqual(batch.call_count, 1)
            batched = batch.call_args.args[2]
            wanted = [i for i in range(3) if i != frozen]
            self.assertEqual([g.shape[1] for g in batched], [(8, 4, 4)[i] for i in wanted], f"frozen {frozen}")
            for i in wanted:
                expected = ops.approx_matmul(storage, None, grads[i], rows, d_model, 1 / 8, 0, torch.float32, torch.float32,
                                             pammcuda.GRADIENT_BY_INPUT, torch.float32)
                self.assertTrue(torch.equal((qkv.q, qkv.k, qkv.v)[i].weight.grad, expected), f"projection {i}, frozen {frozen}")
            if frozen is not None:
                self.assertIsNone((qkv.q, qkv.k, qkv.v)[frozen].weight.grad)

    def test_attention_block_trains(self):
        # A student learns a teacher block's outputs on token embeddings (rows on a few lines, as in language models).
        generator = torch.Generator().manual_seed(11)
        vocabulary = torch.randn(12, 32, generator=generator)
        x = vocabulary[torch.randint(0, 12, (8, 32), generator=generator)]
        with torch.no_grad():
            target = AttentionBlock(32, ratio=1.0)(x)
        student = AttentionBlock(32, ratio=1 / 8)
        optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
        losses = []
        for _ in range(40):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(student(x), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"\ninfo: attention block loss {losses[0]:.4g} -> {losses[-1]:.4g} in 40 Adam steps, r = 1/8")
        self.assertTrue(all(math.isfinite(value) for value in losses))
        self.assertLess(losses[-1], 0.05 * losses[0])


class PammQKVOneGemmPathTests(unittest.TestCase):
    """
    Which path PammQKV takes (one GEMM of x with [Wq; Wk; Wv; C] on CUDA, three linears otherwise), and that the
    one-GEMM path's autograd plumbing (q, k, v as the outputs the library wrote, the compression on the graph) gives the three-
    linear path's results: here with a CPU stand-in for the library call; on a GPU by CudaTests.
    """

    def setUp(self):
        torch.manual_seed(4)

    def test_the_cpu_path_is_the_three_linears_and_never_calls_the_one_gemm_path(self):
        from pammcuda import autograd
        calls = []
        original = autograd._project_and_compress
        autograd._project_and_compress = lambda *args, **kwargs: calls.append(args) or original(*args, **kwargs)
        try:
            qkv = pammcuda.PammQKV(12, 8, bias=False, ratio=1.0, fused_projection=True)
            x = torch.randn(3, 10, 12)
            outputs = qkv(x)
        finally:
            autograd._project_and_compress = original
        self.assertEqual(calls, [])
        for output, layer in zip(outputs, (qkv.q, qkv.k, qkv.v)):
            torch.testing.assert_close(output, torch.nn.functional.linear(x, layer.weight), rtol=0, atol=0)
            self.assertTrue(output.is_contiguous())

    def test_the_one_gemm_path_is_taken_only_when_asked_for(self):
        from pammcuda import autograd
        calls = []
        originals = autograd._project_and_compress, autograd._fuses_projection
        autograd._project_and_compress = lambda *args: calls.append(args) or (_ for _ in ()).throw(AssertionError("called"))
        autograd._fuses_projection = lambda *args: True
        try:
            qkv = pammcuda.PammQKV(12, 8, bias=False, ratio=1.0)
            outputs = qkv(torch.randn(3, 10, 12))
        finally:
            autograd._project_and_compress, autograd._fuses_projection = originals
        self.assertEqual(calls, [], "fused_projection is off by default")
        self.assertEqual(len(outputs), 3)
        self.assertNotIn("fused_projection", repr(qkv))
        self.assertIn("fused_projection=True", repr(pammcuda.PammQKV(12, 8, fused_projection=True)))

    def test_only_cuda_bias_free_same_dtype_inputs_take_the_one_gemm_path(self):
        from pammcuda.autograd import _fuses_projection
        x = torch.randn(4, 6)
        weights = tuple(torch.randn(3, 6) for _ in range(3))
        no_bias = (None, None, None)
        self.assertFalse(_fuses_projection(x, weights, no_bias), "a CPU tensor")
        cuda_like = _CudaLike(x)
        self.assertTrue(_fuses_projection(cuda_like, tuple(_CudaLike(w) for w in weights), no_bias))
        self.assertFalse(_fuses_projection(cuda_like, tuple(_CudaLike(w) for w in weights), (torch.zeros(3), None, None)), "a bias")
        mixed = (_CudaLike(weights[0].double()),) + tuple(_CudaLike(w) for w in weights[1:])
        self.assertFalse(_fuses_projection(cuda_like, mixed, no_bias), "a weight of another dtype")
        self.assertFalse(_fuses_projection(_CudaLike(x.double()), tuple(_CudaLike(w.double()) for w in weights), no_bias), "float64")
        narrow = (_CudaLike(torch.randn(3, 5)),) + tuple(_CudaLike(w) for w in weights[1:])
        self.assertFalse(_fuses_projection(cuda_like, narrow, no_bias), "a weight of another width")

    def test_project_and_compress_runs_on_cuda_only_and_its_workspace_size_is_arithmetic(self):
        with self.assertRaisesRegex(ValueError, "x is on cpu"):
            pammcuda.project_and_compress(torch.randn(16, 4), [torch.randn(3, 4)], pammcuda.PammOptions(k=2))
        # The float32 GEMM output (rows x (projection_cols + k)) is part of it.
        self.assertGreaterEqual(pammcuda.project_and_compress_workspace_bytes(64, 8, 4, 12), 64 * 16 * 4)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, "projection_cols"):
            pammcuda.project_and_compress_workspace_bytes(64, 8, 4, 0)

    def test_the_one_gemm_plumbing_gives_the_three_linear_results(self):
        from pammcuda import autograd

        def stand_in(x, weights, seed, ratio, k, epsilon, alpha_dtype, refine_generators):
            # What the library computes, on the CPU: x Wq^T, x Wk^T, x Wv^T and compress(x).
            return [x @ w.T for w in weights], pammcuda.ops.compress(x, seed, ratio, k, epsilon, alpha_dtype, refine_generators)

        qkv = pammcuda.PammQKV(12, 8, d_k=4, d_v=6, bias=False, k=9, seed=3, fused_projection=True)
        x = torch.randn(2, 15, 12)
        grads = [torch.randn(2, 15, size) for size in (8, 4, 6)]
        torch.manual_seed(8)
        expected = qkv(x.clone().requires_grad_())
        torch.autograd.backward(expected, grads)
        expected_grads = [layer.weight.grad.clone() for layer in (qkv.q, qkv.k, qkv.v)]
        qkv.zero_grad()
        originals = autograd._project_and_compress, autograd._fuses_projection
        autograd._project_and_compress, autograd._fuses_projection = stand_in, lambda *args: True
        try:
            torch.manual_seed(8)
            x_fused = x.clone().requires_grad_()
            actual = qkv(x_fused)
            torch.autograd.backward(actual, grads)
        finally:
            autograd._project_and_compress, autograd._fuses_projection = originals
        for output, reference in zip(actual, expected):
            self.assertEqual(output.shape, reference.shape)
            assert_sums_close(output, reference.detach(), terms=12)
        self.assertIs(actual[0].grad_fn, actual[2].grad_fn)
        for layer, reference in zip((qkv.q, qkv.k, qkv.v), expected_grads):
            torch.testing.assert_close(layer.weight.grad, reference, rtol=0, atol=0)
        self.assertEqual(x_fused.grad.shape, x.shape)


class _CudaLike:
    """A tensor that says it is on CUDA: what _fuses_projection reads, on a host without a GPU."""

    def __init__(self, tensor):
        self._tensor = tensor
        self.is_cuda = True
        self.device = torch.device("cuda", 0)

    def __getattr__(self, name):
        return getattr(self._tensor, name)


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaTests(unittest.TestCase):
    """The GPU engine on CUDA tensors and PyTorch's current stream; compared with nn.Linear and the CPU backend."""

    def setUp(self):
        torch.manual_seed(3)

    def test_full_ratio_gives_nn_linear_gradients(self):
        layer = pammcuda.PammLinear(64, 32, ratio=1.0).cuda()
        reference = twin_linear(layer).cuda()
        x = torch.randn(4, 128, 64, device="cuda")
        grad = torch.randn(4, 128, 32, device="cuda")
        layer(x).backward(grad)
        reference(x).backward(grad)
        assert_sums_close(layer.weight.grad, reference.weight.grad, terms=512)
        assert_sums_close(layer.bias.grad, reference.bias.grad, terms=512)

    def test_gpu_and_cpu_backends_agree(self):
        generator = torch.Generator().manual_seed(5)
        x = clustered(2048, 64, directions=16, noise=0.05, generator=generator)
        grad = torch.randn(2048, 48, generator=generator)
        options = pammcuda.PammOptions(ratio=1 / 32, seed=9)
        on_cpu = pammcuda.compress(x, options)
        on_gpu = pammcuda.compress(x.cuda(), options)
        self.assertEqual(on_gpu.k, on_cpu.k)
        self.assertEqual(on_gpu.stored_bytes, on_cpu.stored_bytes)
        exact = grad.T @ x
        cpu_product = on_cpu.matmul(grad)
        gpu_product = on_gpu.matmul(grad.cuda()).cpu()
        # Same generators and assignments: the products differ by float32 rounding only.
        torch.testing.assert_close(gpu_product, cpu_product, rtol=1e-4, atol=1e-4 * exact.abs().max().item())
        print(f"\ninfo: GPU weight-gradient relative error, 16 lines + 5% noise, r = 1/32: {relative_error(gpu_product, exact):.4f}")

    def test_one_engine_serves_every_seed(self):
        from pammcuda import backend
        x, grad = torch.randn(512, 32, device="cuda"), torch.randn(512, 8, device="cuda")
        first = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=1)).matmul(grad)
        engines = len(backend._engines)
        second = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=2)).matmul(grad)
        again = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=1)).matmul(grad)
        self.assertEqual(len(backend._engines), engines, "a new seed created another engine")
        torch.testing.assert_close(again, first, rtol=0, atol=0)
        self.assertFalse(torch.equal(second, first), "seeds 1 and 2 sampled the same rows")
        for seed, product in ((1, first), (2, second)):
            on_cpu = compressed_product(x.cpu(), grad.cpu(), pammcuda.PammOptions(k=16, seed=seed))
            torch.testing.assert_close(product.cpu(), on_cpu, rtol=1e-4, atol=1e-4 * on_cpu.abs().max().item())

    def test_layer_resamples_at_every_pass_and_replays_after_manual_seed(self):
        layer = pammcuda.PammLinear(32, 8, k=16).cuda()
        x, grad = torch.randn(512, 32, device="cuda"), torch.randn(512, 8, device="cuda")
        torch.manual_seed(7)
        first, second = (weight_gradient(layer, x, grad) for _ in range(2))
        torch.manual_seed(7)
        replayed = weight_gradient(layer, x, grad)
        torch.testing.assert_close(replayed, first, rtol=0, atol=0)
        self.assertFalse(torch.equal(second, first), "two passes sampled the same rows")

    def test_one_gemm_projection_and_compression_match_linear_and_compress(self):
        for dtype, k in ((torch.float32, 1), (torch.float32, 300), (torch.float16, 17), (torch.bfloat16, 257)):
            with self.subTest(dtype=dtype, k=k):
                generator = torch.Generator().manual_seed(k)
                x = clustered(1001, 72, directions=12, noise=0.05, generator=generator).to("cuda", dtype)
                weights = [torch.randn(size, 72, generator=generator).to("cuda", dtype) for size in (64, 32, 40)]
                options = pammcuda.PammOptions(k=k, seed=k + 1)
                ys, fused = pammcuda.project_and_compress(x, weights, options)
                # float32 accumulation of 72 terms, then one rounding to the output's dtype.
                unit = {torch.float32: 2 ** -24, torch.float16: 2 ** -11, torch.bfloat16: 2 ** -8}[dtype]
                for y, weight in zip(ys, weights):
                    exact = x.double() @ weight.double().T
                    tolerance = 72 * 2 ** -24 * (x.double().abs() @ weight.double().abs().T) + unit * exact.abs()
                    self.assertTrue(bool(((y.double() - exact).abs() <= tolerance).all()), "projection beyond the GEMM's tolerance")
                # Each output in an allocation of its own, as nn.Linear's: none keeps another alive.
                self.assertEqual(len({y.untyped_storage().data_ptr() for y in ys}), 3)
                self.assertEqual([y.untyped_storage().nbytes() for y in ys], [y.numel() * y.element_size() for y in ys])
                plain = pammcuda.compress(x, options)
                grad = torch.randn(1001, 16, generator=generator).to("cuda", dtype)
                self.assertEqual(fused.read_dropped_rows(), plain.read_dropped_rows())
                expected = plain.matmul(grad, out_dtype=torch.float32)
                torch.testing.assert_close(fused.matmul(grad, out_dtype=torch.float32), expected, rtol=1e-3,
                                           atol=1e-3 * expected.abs().max().item())

    def test_pamm_qkv_takes_the_one_gemm_path_when_asked_without_bias_and_gives_the_three_linears(self):
        from pammcuda import autograd
        calls = []
        original = autograd._project_and_compress
        autograd._project_and_compress = lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs)
        try:
            qkv = pammcuda.PammQKV(64, 64, d_k=32, bias=False, ratio=1.0, fused_projection=True).cuda()
            x = torch.randn(4, 100, 64, device="cuda")
            outputs = qkv(x)
            with_bias = pammcuda.PammQKV(64, 64, ratio=1.0, fused_projection=True).cuda()
            with_bias(x)
            pammcuda.PammQKV(64, 64, bias=False, ratio=1.0).cuda()(x)
        finally:
            autograd._project_and_compress = original
        self.assertEqual(len(calls), 1, "only the bias-free layer that asks for it takes the one-GEMM path")
        grads = [torch.randn_like(output) for output in outputs]
        torch.autograd.backward(outputs, grads)
        for output, layer, grad in zip(outputs, (qkv.q, qkv.k, qkv.v), grads):
            reference = torch.nn.functional.linear(x, layer.weight)
            torch.testing.assert_close(output, reference, rtol=1e-5, atol=1e-5 * reference.abs().max().item())
            exact_grad = grad.reshape(-1, grad.shape[-1]).T @ x.reshape(-1, 64)
            assert_sums_close(layer.weight.grad, exact_grad, terms=400)

    def test_bfloat16_on_a_side_stream(self):
        layer = pammcuda.PammQKV(64, 64, ratio=1.0, dtype=torch.bfloat16).cuda()
        x = torch.randn(256, 64, device="cuda").to(torch.bfloat16)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            q, k, v = layer(x)
            (q.float().sum() + k.float().sum() + v.float().sum()).backward()
        torch.cuda.synchronize()
        exact = torch.ones(64, 256, device="cuda") @ x.float()
        torch.testing.assert_close(layer.q.weight.grad.float(), exact, rtol=2 ** -7, atol=1e-2)

    def test_compressed_input_is_a_cuda_tensor_freed_with_the_graph(self):
        layer = pammcuda.PammLinear(32, 16, ratio=1 / 4).cuda()
        before = live_compressed()
        y = layer(torch.randn(64, 32, device="cuda"))
        saved = y.grad_fn.saved_tensors[1]
        self.assertEqual((saved.device.type, saved.dtype), ("cuda", torch.uint8))
        storage = weakref.ref(saved)
        del saved
        # No native handle lives between forward and backward: the ops open the storage where they multiply.
        self.assertEqual(live_compressed(), before)
        y.sum().backward()
        del y
        gc.collect()
        self.assertIsNone(storage(), "the storage outlived its graph")
        self.assertEqual(live_compressed(), before)


if __name__ == "__main__":
    unittest.main()
