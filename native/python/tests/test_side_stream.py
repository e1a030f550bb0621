"""
The layers' overlap_compression option: the compression on a second CUDA stream beside the projection's GEMMs, joined
on the device before forward returns (run with PAMMCUDA_LIB set; see scripts/native-tests.sh). The option's checks and
its CPU behaviour run everywhere; what it does on a GPU skips, with the reason, where there is none.
"""

import unittest
from unittest import mock

import torch

import pammcuda
from pammcuda import _side_stream, ops
from requirements import cuda_skip_reason


def gradients(layer, x, grads, seed):
    """(outputs, weight gradients) of one forward and backward pass of `layer` on x with torch seeded by `seed`."""
    torch.manual_seed(seed)
    layer.zero_grad(set_to_none=True)
    outputs = layer(x)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    torch.autograd.backward(outputs, grads)
    return [o.detach() for o in outputs], [p.grad for name, p in layer.named_parameters() if name.endswith("weight")]


class OverlapOptionTests(unittest.TestCase):
    def test_the_option_is_true_or_false(self):
        for value in ("yes", 1, None):
            with self.subTest(value=value):
                with self.assertRaisesRegex(ValueError, "overlap_compression must be True or False"):
                    pammcuda.PammQKV(8, 8, overlap_compression=value)
                with self.assertRaisesRegex(ValueError, "overlap_compression must be True or False"):
                    pammcuda.PammLinear(8, 8, overlap_compression=value)
        with self.assertRaisesRegex(ValueError, "fused_projection must be True or False"):
            pammcuda.PammQKV(8, 8, fused_projection="no")

    def test_it_is_off_by_default_and_shown_when_on(self):
        self.assertFalse(pammcuda.PammQKV(8, 8).overlap_compression)
        self.assertFalse(pammcuda.PammLinear(8, 8).overlap_compression)
        self.assertNotIn("overlap_compression", repr(pammcuda.PammQKV(8, 8)))
        self.assertIn("overlap_compression=True", repr(pammcuda.PammQKV(8, 8, overlap_compression=True)))
        self.assertIn("overlap_compression=True", repr(pammcuda.PammLinear(8, 8, overlap_compression=True)))
        both = repr(pammcuda.PammQKV(8, 8, fused_projection=True, overlap_compression=True))
        self.assertIn("fused_projection=True, overlap_compression=True", both)

    def test_on_the_cpu_it_changes_nothing_and_never_asks_for_a_stream(self):
        x = torch.randn(3, 40, 16)
        layers = {
            "qkv": (lambda overlap: pammcuda.PammQKV(16, 8, d_k=4, ratio=1 / 8, overlap_compression=overlap),
                    [torch.randn(3, 40, size) for size in (8, 4, 8)]),
            "linear": (lambda overlap: pammcuda.PammLinear(16, 6, ratio=1 / 8, overlap_compression=overlap),
                       [torch.randn(3, 40, 6)]),
        }
        for name, (make, grads) in layers.items():
            with self.subTest(layer=name):
                torch.manual_seed(5)
                plain = make(False)
                overlapped = make(True)
                overlapped.load_state_dict(plain.state_dict())
                expected = gradients(plain, x, grads, seed=9)
                with mock.patch.object(_side_stream, "run_beside", side_effect=AssertionError("a stream on the CPU")):
                    actual = gradients(overlapped, x, grads, seed=9)
                for a, e in zip(actual[0] + actual[1], expected[0] + expected[1]):
                    self.assertTrue(torch.equal(a, e))

    def test_only_cuda_tensors_overlap(self):
        self.assertFalse(_side_stream.overlaps(torch.randn(4, 4)))

    def test_the_fork_comes_before_the_compression_and_the_join_after_the_projection(self):
        # The order of stream operations run_beside queues, with streams that log them (the values it gives need a GPU:
        # CudaSideStreamTests). A join before the projection would serialise the two; one missing would race.
        log = []

        class Stream:
            def __init__(self, name):
                self.name = name

            def wait_stream(self, other):
                log.append(f"{self.name} waits for {other.name}")

        class Storage:
            def record_stream(self, stream):
                log.append(f"storage recorded on {stream.name}")

        current, side = Stream("current"), Stream("side")
        entered = []

        class Entered:
            def __init__(self, stream):
                self.stream = stream

            def __enter__(self):
                entered.append(self.stream)

            def __exit__(self, *exc):
                entered.pop()

        def compress():
            log.append(f"compress on {entered[-1].name}")
            return Storage()

        def project():
            log.append(f"project on {entered[-1].name if entered else 'current'}")
            return "projected"

        with mock.patch.object(_side_stream.torch.cuda, "current_stream", lambda device=None: current), \
                mock.patch.object(_side_stream.torch.cuda, "stream", Entered), \
                mock.patch.object(_side_stream, "_side_stream", lambda device: side):
            projected, storage = _side_stream.run_beside(project, compress, torch.device("cpu"))
        self.assertEqual(projected, "projected")
        self.assertIsInstance(storage, Storage)
        self.assertEqual(log, ["side waits for current", "compress on side", "project on current",
                               "current waits for side", "storage recorded on current"])

        # A projection that raises (nn.Linear's shape error) still joins the side stream before the error leaves.
        log.clear()

        def failing_project():
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

        with mock.patch.object(_side_stream.torch.cuda, "current_stream", lambda device=None: current), \
                mock.patch.object(_side_stream.torch.cuda, "stream", Entered), \
                mock.patch.object(_side_stream, "_side_stream", lambda device: side), \
                self.assertRaisesRegex(RuntimeError, "shapes cannot be multiplied"):
            _side_stream.run_beside(failing_project, compress, torch.device("cpu"))
        self.assertEqual(log, ["side waits for current", "compress on side", "current waits for side"])


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaSideStreamTests(unittest.TestCase):
    def test_the_compression_runs_on_the_side_stream_and_the_projections_on_the_current_one(self):
        layer = pammcuda.PammQKV(64, 32, ratio=1 / 16, overlap_compression=True).cuda()
        x = torch.randn(512, 64, device="cuda", requires_grad=True)
        streams = {"compress": [], "linear": []}
        compress, linear = ops.compress, torch.nn.functional.linear

        def recording(name, function):
            def call(*args, **kwargs):
                streams[name].append(torch.cuda.current_stream())
                return function(*args, **kwargs)
            return call

        with mock.patch.object(ops, "compress", recording("compress", compress)), \
                mock.patch.object(torch.nn.functional, "linear", recording("linear", linear)):
            layer(x)
            current = torch.cuda.current_stream()
        side = _side_stream._side_stream(x.device)
        self.assertEqual(streams["compress"], [side])
        self.assertNotEqual(side, current)
        self.assertEqual(streams["linear"], [current] * 3)
        self.assertEqual(torch.cuda.current_stream(), current, "the current stream is restored")

    def test_overlapped_compression_gives_the_same_bits(self):
        # Large enough that the compression is still running when backward's products are queued: a missing join would
        # let them read a storage not written yet. Backward follows forward with no host wait in between.
        cases = [
            ("qkv", torch.bfloat16, lambda overlap: pammcuda.PammQKV(512, 512, d_k=128, bias=False, ratio=1 / 64,
                                                                     overlap_compression=overlap)),
            ("qkv", torch.float32, lambda overlap: pammcuda.PammQKV(512, 512, ratio=1 / 64, overlap_compression=overlap)),
            ("linear", torch.bfloat16, lambda overlap: pammcuda.PammLinear(512, 384, ratio=1 / 64, overlap_compression=overlap)),
        ]
        for name, dtype, make in cases:
            with self.subTest(layer=name, dtype=dtype):
                torch.manual_seed(6)
                plain = make(False).to("cuda", dtype)
                overlapped = make(True).to("cuda", dtype)
                overlapped.load_state_dict(plain.state_dict())
                x = torch.randn(16384, 512, device="cuda", dtype=dtype)
                sizes = [p.shape[0] for n, p in plain.named_parameters() if n.endswith("weight")]
                grads = [torch.randn(16384, size, device="cuda", dtype=dtype) for size in sizes]
                expected = gradients(plain, x, grads, seed=12)
                actual = gradients(overlapped, x, grads, seed=12)
                for a, e in zip(actual[0] + actual[1], expected[0] + expected[1]):
                    self.assertTrue(torch.equal(a, e))

    def test_a_shape_mismatch_raises_the_linear_error_and_the_layer_stays_usable(self):
        layer = pammcuda.PammQKV(64, 32, ratio=1 / 16, overlap_compression=True).cuda()
        with self.assertRaisesRegex(RuntimeError, "shapes cannot be multiplied"):
            layer(torch.randn(100, 48, device="cuda"))
        q, k, v = layer(torch.randn(100, 64, device="cuda"))
        (q.sum() + k.sum() + v.sum()).backward()
        self.assertTrue(bool(torch.isfinite(layer.q.weight.grad).all()))

    def test_what_forward_keeps_is_the_same_with_the_side_stream(self):
        # The storage is allocated on the side stream, through the same caching allocator: memory statistics count it.
        x = torch.randn(8192, 512, device="cuda", dtype=torch.bfloat16)
        kept = {}
        for overlap in (False, True):
            layer = pammcuda.PammQKV(512, 512, bias=False, ratio=1 / 512, overlap_compression=overlap).to("cuda", torch.bfloat16)
            sum(o.float().sum() for o in layer(x)).backward()  # warm-up: engines, kernels, gradients
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            q, k, v = layer(x)
            kept[overlap] = torch.cuda.memory_allocated() - before
            storage = pammcuda.saved_compression(q.grad_fn).storage
            self.assertEqual(storage.numel(), pammcuda.storage_bytes(8192, 512, 16, torch.bfloat16))
            del q, k, v, storage
        self.assertEqual(kept[True], kept[False])


if __name__ == "__main__":
    unittest.main()
