"""
Where PAMM's memory lives and when it waits: storage and workspace as torch tensors, errors that name the argument,
no leaks, and on CUDA no host synchronisation inside a training step (run with PAMMCUDA_LIB set; see
scripts/native-tests.sh). The CPU tests run everywhere; the CUDA tests skip, with the reason, where there is no GPU.
"""

import gc
import re
import subprocess
import sys
import textwrap
import time
import unittest

import torch

import pammcuda
from pammcuda import backend
from requirements import cuda_skip_reason
from tiny_models import LlamaAttention


def live_counts():
    """(handles, compressed handles) once unreachable objects are collected."""
    gc.collect()
    return pammcuda.live_handle_count(), pammcuda.live_compressed_count()


class QKVStack(torch.nn.Module):
    """
    `layers` independent Q/K/V projections of one hidden state: layer i projects x_i = h * (1 + i/8), an intermediate
    that only the projections' backward could keep (a scalar product keeps nothing for its own backward), as the
    normalised input of an attention block is. PAMM keeps its compressed form instead; nn.Linear keeps x_i itself.
    """

    def __init__(self, d_model, d_out, layers, pamm, **pamm_options):
        super().__init__()
        if pamm:
            self.layers = torch.nn.ModuleList(pammcuda.PammQKV(d_model, d_out, **pamm_options) for _ in range(layers))
        else:
            self.layers = torch.nn.ModuleList(
                torch.nn.ModuleList(torch.nn.Linear(d_model, d_out) for _ in range(3)) for _ in range(layers))

    def forward(self, h):
        loss = h.new_zeros(())
        for i, layer in enumerate(self.layers):
            # The input is made in the call, so that nothing but the graph refers to it once the layer returns.
            loss = loss + self._layer_loss(layer, h * (1.0 + i / 8.0))
        return loss

    @staticmethod
    def _layer_loss(layer, x):
        q, k, v = layer(x) if isinstance(layer, pammcuda.PammQKV) else (projection(x) for projection in layer)
        return (q.float().sum() + k.float().sum() + v.float().sum()) / q.numel()


def train_step(model, h, optimizer=None):
    loss = model(h)
    loss.backward()
    if optimizer is not None:
        optimizer.step()
    return loss


def gradients_of_a_step(model, x, hooks=None, after_forward=None):
    """
    The parameters' gradients after one forward and backward pass of `model` on x, under the saved-tensor hooks given;
    after_forward() runs between the two passes.
    """
    model.zero_grad(set_to_none=True)
    torch.manual_seed(11)  # PAMM's fresh seed per pass: the same sample in every call
    with hooks if hooks is not None else torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        outputs = model(x)
    if after_forward is not None:
        after_forward()
    first = outputs if isinstance(outputs, torch.Tensor) else torch.cat([output.flatten() for output in outputs])
    first.float().square().sum().backward()
    return {name: parameter.grad.clone() for name, parameter in model.named_parameters()}


class MovingHooks:
    """
    Saved-tensor hooks that move every saved tensor to a new address, as activation offloading does (save_on_cpu and
    its kin copy to the host and back). poison_originals() then zeroes PAMM's storage (the only uint8 tensor saved)
    where it was, so a backward that read the old address instead of what autograd unpacked would multiply by zero
    generators.
    """

    def __init__(self):
        self.originals = []

    def hooks(self):
        def pack(tensor):
            self.originals.append(tensor)
            return tensor.clone()

        return torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor.clone())

    def poison_originals(self):
        with torch.no_grad():
            for tensor in self.originals:
                if tensor.dtype == torch.uint8:
                    tensor.zero_()


class StorageTests(unittest.TestCase):
    """The storage path on CPU tensors: the same code path as on CUDA, with host storage."""

    def test_sizes_come_from_the_library(self):
        # 100 x 12 float32 with k = 7: C 336 bytes, then alpha, f and eta, each on a 256-byte boundary.
        self.assertEqual(pammcuda.storage_bytes(100, 12, 7, torch.float32), 1284)
        self.assertEqual(pammcuda.resolve_k(pammcuda.PammOptions(), 1024), 2)
        self.assertEqual(pammcuda.resolve_k(pammcuda.PammOptions(k=7), 100), 7)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape("options->k")):
            pammcuda.resolve_k(pammcuda.PammOptions(k=7), 6)
        self.assertGreater(pammcuda.compress_workspace_bytes(4096, 256, 8, torch.float32), 4096 * 20)
        f32 = pammcuda.matmul_workspace_bytes(4096, 256, 8, torch.float32, 64, torch.float32)
        f16 = pammcuda.matmul_workspace_bytes(4096, 256, 8, torch.float16, 64, torch.float16)
        f16_to_f32 = pammcuda.matmul_workspace_bytes(4096, 256, 8, torch.float16, 64, torch.float32)
        self.assertEqual(f16, f16_to_f32, "a 16-bit output is written directly: no float32 product in the workspace")
        # A product whose compression has its plan (every CUDA product here) needs no room for grouping the rows.
        planned = pammcuda.matmul_workspace_bytes(4096, 256, 8, torch.float32, 64, torch.float32, planned=True)
        self.assertGreaterEqual(f32 - planned, pammcuda.product_plan_bytes(4096, 256, 8, torch.float32))
        self.assertLess(f32 - planned, pammcuda.product_plan_bytes(4096, 256, 8, torch.float32) + 256)
        # The products' plan: sorted keys and rows (4 bytes each per row) and the radix histogram, whatever the dtype.
        plan = pammcuda.product_plan_bytes(4096, 256, 8, torch.float32)
        self.assertGreaterEqual(plan, 4096 * 8)
        self.assertLess(plan, 4096 * 8 + 16 * 1024)
        self.assertEqual(pammcuda.product_plan_bytes(4096, 256, 8, torch.bfloat16), plan)
        with self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape("pamm_product_plan_bytes") + ".*k"):
            pammcuda.product_plan_bytes(100, 12, 101, torch.float32)

    def test_alpha_in_bfloat16_takes_two_bytes_a_row(self):
        self.assertEqual(pammcuda.storage_bytes(100, 12, 7, torch.float32, torch.bfloat16), 1028)
        x, grad = torch.randn(600, 24), torch.randn(600, 5)
        wide = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=2))
        narrow = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=2, alpha_dtype=torch.bfloat16))
        self.assertEqual((wide.alpha_dtype, narrow.alpha_dtype), (torch.float32, torch.bfloat16))
        self.assertEqual(narrow.stored_bytes, wide.stored_bytes - 2 * 600)
        self.assertEqual(narrow.storage.numel(), pammcuda.storage_bytes(600, 24, 16, torch.float32, torch.bfloat16))
        exact, a, b = x.T @ grad, wide.matmul(grad, pammcuda.INPUT_BY_GRADIENT), narrow.matmul(grad, pammcuda.INPUT_BY_GRADIENT)
        # Each alpha moves by at most 2^-8 of itself: the products differ by far less than either differs from X^T G.
        self.assertLess((a - b).norm() / (a - exact).norm(), 0.05)
        self.assertFalse(torch.equal(a, b), "rounding alpha changes the product")
        with self.assertRaisesRegex(pammcuda.PammArgumentError, re.escape("options->alpha_dtype")):
            pammcuda.compress(x, pammcuda.PammOptions(k=16, alpha_dtype=torch.float16))
        with self.assertRaisesRegex(TypeError, "alpha_dtype"):
            pammcuda.PammOptions(alpha_dtype=torch.int8).to_native()
        with self.assertRaisesRegex(ValueError, "alpha_dtype"):
            pammcuda.convert(torch.nn.Module(), alpha_dtype=torch.float16)
        layer = pammcuda.PammQKV(24, 8, ratio=1 / 8, alpha_dtype=torch.bfloat16)
        self.assertIn("alpha_dtype=torch.bfloat16", repr(layer))
        q, _, _ = layer(x)
        self.assertEqual(pammcuda.saved_compression(q.grad_fn).alpha_dtype, torch.bfloat16)

    def test_compressed_keeps_a_storage_tensor_of_the_library_size(self):
        x = torch.randn(100, 12)
        compressed = pammcuda.compress(x, pammcuda.PammOptions(k=7))
        self.assertEqual(compressed.storage.dtype, torch.uint8)
        self.assertEqual(compressed.storage.device, x.device)
        self.assertEqual(compressed.storage.numel(), 1284)
        self.assertLessEqual(compressed.stored_bytes, compressed.storage.numel())
        self.assertLessEqual(compressed.storage.numel(), compressed.stored_bytes + 768)

    def test_caller_storage_is_used_and_products_read_it(self):
        x, grad = torch.randn(200, 16), torch.randn(200, 5)
        options = pammcuda.PammOptions(k=12, seed=4)
        needed = pammcuda.storage_bytes(200, 16, 12, torch.float32)
        storage = torch.zeros(needed + 64, dtype=torch.uint8)
        compressed = pammcuda.compress(x, options, storage=storage)
        self.assertIs(compressed.storage, storage)
        first = compressed.matmul(grad)
        torch.testing.assert_close(first, pammcuda.compress(x, options).matmul(grad), rtol=0, atol=0)
        # The generators C are the storage's first k * cols float32 values: doubling them doubles the product.
        storage[: 12 * 16 * 4].view(torch.float32).mul_(2)
        torch.testing.assert_close(compressed.matmul(grad), 2 * first, rtol=0, atol=0)

    def test_the_graph_keeps_the_storage_and_never_the_input(self):
        # What autograd saves for backward, as saved_tensors_hooks (activation offloading, checkpointing) see it: the
        # PAMM layers save their weights and the storage tensor, never x or a cast of it, in float32 and under autocast,
        # where each nn.Linear saves a bf16 copy of x of its own.
        def saved_by(module, x, autocast):
            saved = []
            # The pack hook returns a detached alias: returning t itself would, where an op saves its own output, make a
            # loop through autograd's C++ graph that keeps every saved tensor alive for good (no backward runs here).
            with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t.detach(), lambda t: t), \
                    torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                outputs = module(x)
            return saved, outputs

        for autocast in (False, True):
            with self.subTest(autocast=autocast):
                x = torch.randn(64, 24) * 2  # not a leaf: only a backward could keep it
                linears = torch.nn.ModuleList(torch.nn.Linear(24, 8) for _ in range(3))
                saved, _ = saved_by(lambda t: [linear(t) for linear in linears], x, autocast)
                copies = {t.data_ptr() for t in saved if t.shape == x.shape}
                self.assertEqual(len(copies), 3 if autocast else 1)  # x itself, or a bf16 cast of it per layer
                for module in (pammcuda.PammQKV(24, 8, k=5), pammcuda.PammLinear(24, 8, k=5)):
                    saved, outputs = saved_by(module, x, autocast)
                    first = outputs[0] if isinstance(outputs, tuple) else outputs
                    storage = pammcuda.saved_compression(first.grad_fn).storage
                    self.assertFalse([t for t in saved if t.shape == x.shape], type(module).__name__)
                    self.assertEqual([t.data_ptr() for t in saved if t.dtype == torch.uint8], [storage.data_ptr()])

    def test_saved_tensors_moved_by_offloading_give_the_same_gradients(self):
        # The storage tensor holds the whole compressed form, with no address inside it: backward reads whatever
        # tensor autograd unpacks. A converted projection's shared compression is no saved tensor and stays put.
        torch.manual_seed(3)
        x = torch.randn(4, 32, 24) * 2
        models = {"PammLinear": pammcuda.PammLinear(24, 8, k=6), "PammQKV": pammcuda.PammQKV(24, 8, k=6),
                  "converted": pammcuda.convert(LlamaAttention(24, 4, 2), k=6)}
        for name, model in models.items():
            with self.subTest(model=name):
                expected = gradients_of_a_step(model, x)
                moving = MovingHooks()
                moved = gradients_of_a_step(model, x, moving.hooks(), moving.poison_originals)
                self.assertEqual(sum(t.dtype == torch.uint8 for t in moving.originals), name != "converted")
                self.assertEqual(moved.keys(), expected.keys())
                for parameter, gradient in expected.items():
                    torch.testing.assert_close(moved[parameter], gradient, rtol=0, atol=0, msg=parameter)

    def test_read_dropped_rows(self):
        compressed = pammcuda.compress(torch.randn(40, 5), pammcuda.PammOptions(k=4, epsilon=0.0))
        self.assertEqual(compressed.read_dropped_rows(), 36)
        self.assertEqual(compressed.info().dropped_rows, 36, "a CPU count is known without waiting")
        self.assertFalse(hasattr(compressed, "dropped_rows"), "a read that can wait for the device is a method, never a property")

    def test_too_small_storage_is_rejected_naming_storage(self):
        x = torch.randn(100, 12)
        with self.assertRaisesRegex(ValueError, r"storage holds 1283 bytes; these shapes need 1284"):
            pammcuda.compress(x, pammcuda.PammOptions(k=7), storage=torch.empty(1283, dtype=torch.uint8))

    def test_bad_storage_tensors_are_rejected_naming_storage(self):
        x, options = torch.randn(100, 12), pammcuda.PammOptions(k=7)
        with self.assertRaisesRegex(TypeError, r"storage must be a torch.uint8 tensor"):
            pammcuda.compress(x, options, storage=torch.empty(400, dtype=torch.float32))
        with self.assertRaisesRegex(ValueError, r"storage must be contiguous"):
            pammcuda.compress(x, options, storage=torch.empty(4000, dtype=torch.uint8)[::2])
        with self.assertRaisesRegex(ValueError, r"storage is on meta"):
            pammcuda.compress(x, options, storage=torch.empty(2000, dtype=torch.uint8, device="meta"))
        # Contiguous and large enough, but 4 bytes past an aligned address: the library names the alignment.
        with self.assertRaisesRegex(pammcuda.PammArgumentError, r"storage.*aligned"):
            pammcuda.compress(x, options, storage=torch.empty(2000, dtype=torch.uint8)[4:])

    def test_bad_inputs_are_rejected_naming_x(self):
        options = pammcuda.PammOptions(k=2)
        with self.assertRaisesRegex(ValueError, r"x must be a contiguous 2-D tensor"):
            pammcuda.compress(torch.randn(8, 20).T, options)
        with self.assertRaisesRegex(ValueError, r"x must be a contiguous 2-D tensor"):
            pammcuda.compress(torch.randn(20, 16)[:, ::2], options)
        with self.assertRaisesRegex(ValueError, r"x must be a contiguous 2-D tensor"):
            pammcuda.compress(torch.randn(2, 10, 8), options)
        with self.assertRaisesRegex(TypeError, r"x is torch.float64"):
            pammcuda.compress(torch.randn(20, 8, dtype=torch.float64), options)
        with self.assertRaisesRegex(ValueError, r"x is on meta"):
            pammcuda.compress(torch.empty(20, 8, device="meta"), options)
        with self.assertRaisesRegex(TypeError, r"x must be a torch.Tensor"):
            pammcuda.compress([[1.0, 2.0]], options)

    def test_bad_gradients_are_rejected_naming_them(self):
        compressed = pammcuda.compress(torch.randn(20, 8), pammcuda.PammOptions(k=2))
        with self.assertRaisesRegex(ValueError, r"grad must be a contiguous 2-D tensor"):
            compressed.matmul(torch.randn(3, 20).T)
        with self.assertRaisesRegex(ValueError, r"grad is on meta, the compressed activation on cpu"):
            compressed.matmul(torch.empty(20, 3, device="meta"))
        with self.assertRaisesRegex(TypeError, r"grad is torch.int32"):
            compressed.matmul(torch.zeros(20, 3, dtype=torch.int32))
        with self.assertRaisesRegex(TypeError, r"out is torch.float64"):
            compressed.matmul(torch.randn(20, 3), out_dtype=torch.float64)
        with self.assertRaisesRegex(ValueError, r"grad has 21 rows"):
            compressed.matmul(torch.randn(21, 3))

    def test_too_small_workspace_is_rejected_naming_workspace(self):
        x = torch.randn(64, 8)
        compressed = pammcuda.compress(x, pammcuda.PammOptions(k=4))
        tiny = torch.empty(16, dtype=torch.uint8)
        needed = pammcuda.matmul_workspace_bytes(64, 8, 4, torch.float32, 3, torch.float32)
        with self.assertRaisesRegex(ValueError, rf"workspace holds 16 bytes; these shapes need {needed}"):
            compressed.matmul(torch.randn(64, 3), workspace=tiny)
        with self.assertRaisesRegex(ValueError, r"workspace holds 16 bytes"):
            pammcuda.compress(x, pammcuda.PammOptions(k=4), workspace=tiny)
        # A large enough one is accepted (and unused on the CPU).
        enough = torch.empty(needed, dtype=torch.uint8)
        torch.testing.assert_close(compressed.matmul(torch.ones(64, 3), workspace=enough), compressed.matmul(torch.ones(64, 3)))

    def test_no_handle_or_memory_leaks_over_many_steps(self):
        torch.manual_seed(5)
        model = QKVStack(32, 8, layers=2, pamm=True, ratio=1 / 8)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        h = torch.randn(4, 64, 32)
        train_step(model, h, optimizer)
        before = live_counts()
        for _ in range(50):
            optimizer.zero_grad()
            train_step(model, h, optimizer)
        self.assertEqual(live_counts(), before)


def round_to_block(size):
    """The bytes the caching allocator hands out for a request of `size` (multiples of 512)."""
    return (size + 511) // 512 * 512


def requested_bytes():
    """
    Bytes the live CUDA tensors asked for, before the caching allocator's rounding and whole-block hand-outs (a request
    over 1 MiB may get a cached block up to 1 MiB larger), or None where torch does not count them (before 2.1).
    """
    return torch.cuda.memory_stats().get("requested_bytes.all.current")


# What a step allocates besides the tensors these tests account for (loss scalars, autograd's bookkeeping): a bound on
# the slack of the peak-memory comparisons, far below the tens of MiB they are about.
STEP_SLACK_BYTES = 2 ** 20


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaMemoryTests(unittest.TestCase):
    """On a GPU: all of PAMM's device memory is torch's, and a training step never waits for the device."""

    def setUp(self):
        torch.manual_seed(6)
        torch.cuda.synchronize()

    def test_max_memory_allocated_covers_pamm_memory(self):
        x, grad = torch.randn(16384, 1024, device="cuda"), torch.randn(16384, 64, device="cuda")
        options = pammcuda.PammOptions(ratio=1 / 64, seed=1)
        k = pammcuda.resolve_k(options, 16384)
        stored = pammcuda.storage_bytes(16384, 1024, k, torch.float32)
        scratch = pammcuda.compress_workspace_bytes(16384, 1024, k, torch.float32)
        for _ in range(2):  # the engine, its kernels and cuBLAS start on first use
            pammcuda.compress(x, options).matmul(grad)
        torch.cuda.synchronize()
        before, requested_before = torch.cuda.memory_allocated(), requested_bytes()
        torch.cuda.reset_peak_memory_stats()
        compressed = pammcuda.compress(x, options)
        held = torch.cuda.memory_allocated() - before
        peak = torch.cuda.max_memory_allocated() - before
        if requested_before is not None:
            self.assertEqual(requested_bytes() - requested_before, stored, "the compressed form is exactly torch's storage tensor")
            self.assertGreaterEqual(held, stored)
        else:
            self.assertEqual(held, round_to_block(stored), "the compressed form is exactly torch's storage tensor")
        self.assertGreaterEqual(peak, stored + scratch, "the compression's workspace was torch's too")
        del compressed
        self.assertEqual(torch.cuda.memory_allocated(), before)

        # Nothing outside torch: after warm-up, device memory the driver reports free plus what torch reserves is constant.
        torch.cuda.synchronize()
        free_before, _ = torch.cuda.mem_get_info()
        reserved_before = torch.cuda.memory_reserved()
        for _ in range(20):
            pammcuda.compress(x, options).matmul(grad)
        torch.cuda.synchronize()
        free_after, _ = torch.cuda.mem_get_info()
        self.assertEqual(free_after + torch.cuda.memory_reserved(), free_before + reserved_before,
                         "PAMM allocated or freed device memory outside PyTorch's allocator")

    def test_qkv_step_peak_memory_is_below_a_dense_step(self):
        rows, d_model, d_out, layers = 8192, 2048, 64, 4
        ratio = 1 / 512
        h = torch.randn(rows, d_model, device="cuda")
        peaks, retained = {}, {}
        for pamm in (False, True):
            model = QKVStack(d_model, d_out, layers, pamm, **({"ratio": ratio} if pamm else {})).cuda()
            train_step(model, h)  # warm-up; the gradients stay allocated, so both steps start from the same state
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            loss = model(h)
            retained[pamm] = torch.cuda.memory_allocated() - before
            loss.backward()
            del loss
            torch.cuda.synchronize()
            peaks[pamm] = torch.cuda.max_memory_allocated() - before
            del model
        input_bytes = rows * d_model * 4
        k = pammcuda.resolve_k(pammcuda.PammOptions(ratio=ratio), rows)
        kept = layers * round_to_block(pammcuda.storage_bytes(rows, d_model, k, torch.float32))
        workspace = round_to_block(pammcuda.compress_workspace_bytes(rows, d_model, k, torch.float32))
        print(f"\ninfo: {layers} Q/K/V layers, {rows} x {d_model} f32 inputs: peak {peaks[False] / 2**20:.1f} MiB dense, "
              f"{peaks[True] / 2**20:.1f} MiB PAMM; kept after forward {retained[False] / 2**20:.1f} vs {retained[True] / 2**20:.1f} MiB")
        # After the forward pass the dense graph keeps every layer's input, PAMM only its storage.
        self.assertGreaterEqual(retained[False] - retained[True], layers * input_bytes - kept - STEP_SLACK_BYTES)
        # At the peak, the input of the layer being computed exists in both steps (it has to be read), so PAMM's peak
        # is below the dense one by the other layers' inputs, less what PAMM keeps and its transient workspace.
        self.assertGreaterEqual(peaks[False] - peaks[True], (layers - 1) * input_bytes - kept - workspace - STEP_SLACK_BYTES)

    def test_the_one_gemm_path_keeps_only_what_three_linears_keep(self):
        # Attention keeps v for its backward and not q or k (rotary embeddings make new tensors of them): here v * scale
        # keeps v, and the sums keep nothing. Views of one (rows, 3d) output would keep q and k alive with v.
        rows, d = 8192, 1024
        x = torch.randn(rows, d, device="cuda")
        retained = {}
        for fused in (False, True):
            layer = pammcuda.PammQKV(d, d, bias=False, ratio=1 / 512, seed=3, fused_projection=fused).cuda()
            scale = torch.ones((), device="cuda", requires_grad=True)

            def forward():
                q, k, v = layer(x)
                return q.sum() + k.sum() + (v * scale).sum()

            forward().backward()  # warm-up: the engine, kernels and gradients
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            loss = forward()
            retained[fused] = torch.cuda.memory_allocated() - before
            loss.backward()
            del loss
        output_bytes = rows * d * 4
        print(f"\ninfo: kept after forward: {retained[False] / 2**20:.1f} MiB with three linears, "
              f"{retained[True] / 2**20:.1f} MiB with the one-GEMM path")
        self.assertLessEqual(retained[True], retained[False] + STEP_SLACK_BYTES)
        self.assertLess(retained[True], 2 * output_bytes, "q or k outlived the forward pass")

    def test_training_step_is_capturable_by_cuda_graphs(self):
        # Warm-up on the capture stream: its engine, kernels and cuBLAS handle exist before capture.
        stream = torch.cuda.Stream()
        self.assert_graph_replays_the_eager_step(seed=11, warm_up_stream=stream, capture_stream=stream)

    def test_pytorch_graph_recipe_with_a_side_stream_warm_up_replays_the_eager_step(self):
        # torch.cuda.graph's documented recipe: warm up on a side stream, capture on the graph's own stream, which PAMM
        # has not seen. Its engine for that stream is made inside the capture: it must allocate and wait for nothing.
        self.assert_graph_replays_the_eager_step(seed=13, warm_up_stream=torch.cuda.Stream(), capture_stream=None)

    def test_a_step_with_the_compression_on_a_side_stream_is_capturable(self):
        # The side stream joins the capture through the fork's event and leaves it through the join's, as CUDA requires.
        self.assert_graph_replays_the_eager_step(seed=17, warm_up_stream=torch.cuda.Stream(), capture_stream=None,
                                                 overlap_compression=True)

    def assert_graph_replays_the_eager_step(self, seed, warm_up_stream, capture_stream, overlap_compression=False):
        """Three eager steps on warm_up_stream, then one captured on capture_stream (None: the graph's own) and replayed."""
        model = QKVStack(256, 64, layers=2, pamm=True, k=32, seed=seed, overlap_compression=overlap_compression).cuda()
        static_h = torch.randn(2048, 256, device="cuda")
        warm_up_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(warm_up_stream):
            for _ in range(3):
                model.zero_grad(set_to_none=True)
                train_step(model, static_h)
        torch.cuda.current_stream().wait_stream(warm_up_stream)
        torch.cuda.synchronize()
        eager = [p.grad.clone() for p in model.parameters()]

        model.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=capture_stream):
            static_loss = train_step(model, static_h)
        for p in model.parameters():
            p.grad.zero_()
        graph.replay()
        torch.cuda.synchronize()
        self.assertTrue(torch.isfinite(static_loss).item())
        for replayed, expected in zip((p.grad for p in model.parameters()), eager):
            torch.testing.assert_close(replayed, expected, rtol=0, atol=0)

    def test_a_capture_before_pamm_ever_ran_on_the_gpu_says_to_warm_up(self):
        # In a process of its own, where PAMM has never run on the GPU: opening it inside a capture would break the capture.
        script = textwrap.dedent("""
            import torch, pammcuda
            x = torch.randn(256, 64, device="cuda")
            x @ x.T  # PyTorch's own cuBLAS is set up, as by any warm-up
            layer = pammcuda.PammQKV(64, 64, k=8, seed=1).cuda()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    layer(x.requires_grad_())
            except RuntimeError as error:
                print("raised:", error)
            torch.cuda.synchronize()
            print("usable:", bool(torch.isfinite(layer(x)[0]).all()))
        """)
        finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        self.assertEqual(finished.returncode, 0, finished.stderr)
        self.assertIn("Warm up before capturing", finished.stdout)
        self.assertIn("usable: True", finished.stdout)

    def test_step_returns_to_the_host_before_a_long_kernel_ends(self):
        self.assert_step_queues_behind_a_long_kernel(overlap_compression=False)

    def test_step_with_the_compression_on_a_side_stream_returns_before_a_long_kernel_ends(self):
        # The side stream's fork and join are device-side waits: the host queues the step and goes on.
        self.assert_step_queues_behind_a_long_kernel(overlap_compression=True)

    def assert_step_queues_behind_a_long_kernel(self, overlap_compression):
        model = QKVStack(512, 64, layers=2, pamm=True, ratio=1 / 64, overlap_compression=overlap_compression).cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        h = torch.randn(4096, 512, device="cuda")
        for _ in range(3):
            optimizer.zero_grad(set_to_none=False)
            train_step(model, h, optimizer)
        # Calibrate torch.cuda._sleep (GPU clock cycles) to about one second.
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.cuda._sleep(10_000_000)
        end.record()
        end.synchronize()
        cycles = int(10_000_000 / max(start.elapsed_time(end), 1e-3) * 1000)

        torch.cuda._sleep(cycles)
        began = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        train_step(model, h, optimizer)  # a fresh sampling seed from torch's CPU generator, as in training
        host_seconds = time.perf_counter() - began
        done = torch.cuda.Event()
        done.record()
        still_queued = not done.query()
        torch.cuda.synchronize()
        print(f"\ninfo: a PAMM training step (overlap_compression={overlap_compression}) queued in "
              f"{host_seconds * 1000:.1f} ms behind a ~1 s kernel")
        self.assertTrue(still_queued, "the step waited for the device: the kernel ahead of it had finished when it returned")
        self.assertLess(host_seconds, 0.5)

    def test_the_first_product_builds_the_plan_the_others_reuse(self):
        x, grads = torch.randn(4096, 256, device="cuda", dtype=torch.bfloat16), torch.randn(3, 4096, 64, device="cuda", dtype=torch.bfloat16)
        options = pammcuda.PammOptions(ratio=1 / 64, seed=3)
        compressed = pammcuda.compress(x, options)
        self.assertIsNone(compressed.plan, "the forward pass keeps only the compressed form")
        first = compressed.matmul(grads[0], out_dtype=torch.float32)
        plan = compressed.plan
        self.assertEqual(plan.numel(), pammcuda.product_plan_bytes(4096, 256, compressed.k, torch.bfloat16))
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        later = [compressed.matmul(g, out_dtype=torch.float32) for g in grads]
        self.assertIs(compressed.plan, plan, "later products reuse the plan")
        self.assertEqual(torch.cuda.memory_allocated() - before, sum(round_to_block(t.numel() * 4) for t in later))
        self.assertTrue(torch.equal(later[0], first), "a product with the shared plan is bitwise the first one")
        # A second compression of the same x (seed and all) builds its own plan and gives the same bits.
        fresh = pammcuda.compress(x, options)
        self.assertTrue(torch.equal(fresh.matmul(grads[1], out_dtype=torch.float32), later[1]))

    def test_no_handle_or_memory_leaks_over_many_steps(self):
        model = QKVStack(256, 64, layers=2, pamm=True, ratio=1 / 32).cuda()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        h = torch.randn(4096, 256, device="cuda")
        train_step(model, h, optimizer)
        torch.cuda.synchronize()
        counts, allocated = live_counts(), torch.cuda.memory_allocated()
        for _ in range(100):
            optimizer.zero_grad(set_to_none=False)
            train_step(model, h, optimizer)
        torch.cuda.synchronize()
        self.assertEqual(live_counts(), counts)
        self.assertEqual(torch.cuda.memory_allocated(), allocated)

    def test_engines_of_every_stream_share_one_device(self):
        x = torch.randn(1024, 64, device="cuda")
        pammcuda.compress(x, pammcuda.PammOptions(k=8))
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            pammcuda.compress(x, pammcuda.PammOptions(k=8))
        torch.cuda.current_stream().wait_stream(side)
        index = x.device.index
        engines = sum(1 for device, _ in backend._engines if device == index)
        self.assertGreaterEqual(engines, 2)
        self.assertEqual(pammcuda.cuda_device_references(index), engines, "each engine holds one reference to one shared device")

    def test_activation_offloading_to_the_host_gives_the_same_gradients(self):
        # torch.autograd.graph.save_on_cpu copies every saved tensor, PAMM's storage included, to pinned host memory
        # and back for backward: the storage then lies at another device address than the one compress wrote.
        x = torch.randn(8, 256, 128, device="cuda")
        models = {"PammLinear": pammcuda.PammLinear(128, 32, k=16).cuda(), "PammQKV": pammcuda.PammQKV(128, 32, k=16).cuda(),
                  "converted": pammcuda.convert(LlamaAttention(128, 4, 2), k=16).cuda()}
        for name, model in models.items():
            with self.subTest(model=name):
                expected = gradients_of_a_step(model, x)
                offloaded = gradients_of_a_step(model, x, torch.autograd.graph.save_on_cpu(pin_memory=True))
                for parameter, gradient in expected.items():
                    torch.testing.assert_close(offloaded[parameter], gradient, rtol=0, atol=0, msg=parameter)

    def test_backward_called_under_a_side_stream_gives_the_same_gradient(self):
        layer = pammcuda.PammLinear(128, 32, k=16, seed=3).cuda()
        x, grad = torch.randn(2048, 128, device="cuda"), torch.randn(2048, 32, device="cuda")
        y = layer(x)
        expected = pammcuda.compress(x, pammcuda.PammOptions(k=16, seed=3)).matmul(grad)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            y.backward(grad)
        torch.cuda.current_stream().wait_stream(side)
        torch.testing.assert_close(layer.weight.grad, expected, rtol=0, atol=0)


if __name__ == "__main__":
    unittest.main()
