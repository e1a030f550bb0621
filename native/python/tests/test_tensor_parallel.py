"""Two-process tensor parallelism on the CPU (gloo): a converted model with column-wise Q/K/V and gate/up shards."""

import tempfile
import time
import unittest

import torch

from distributed_training import STEPS, gloo_skip_reason, initial_llama, llama_batch, llama_loss, reference_training, run_ranks


def skip_reason():
    if gloo_skip_reason() is not None:
        return gloo_skip_reason()
    try:
        from torch.distributed.tensor.parallel import ColwiseParallel  # noqa: F401  public DTensor: torch >= 2.5
        from torch.distributed.tensor import DTensor  # noqa: F401
    except ImportError as error:
        return f"PyTorch {torch.__version__} has no public DTensor: {error}"
    return None


@unittest.skipIf(skip_reason() is not None, skip_reason())
class TensorParallelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as directory:
            started = time.monotonic()
            cls.ranks = run_ranks("tp_worker.py", directory)
            print(f"\ninfo: two gloo ranks trained a tensor-parallel model in {time.monotonic() - started:.1f} s")

    def test_ranks_gather_identical_weights(self):
        for run in ("exact", "half"):
            first, second = (rank[run][0] for rank in self.ranks)
            self.assertEqual(first.keys(), second.keys())
            for name in first:
                self.assertTrue(torch.equal(first[name], second[name]), f"{run}: {name} differs between ranks")

    def test_full_ratio_training_is_the_unsharded_models(self):
        # At r = 1 every row is a generator: each rank's shard of a weight gradient is exact, and its partial input
        # gradient is summed across the ranks, so the sharded model trains as the plain one on the same tokens.
        from tp_worker import with_qkv_biases
        expected = reference_training(with_qkv_biases(initial_llama()), lambda rank, step: llama_batch(0, step), llama_loss)
        trained = self.ranks[0]["exact"][0]
        self.assertEqual(trained.keys(), expected.keys())
        self.assertIn("layers.1.self_attn.v_proj.bias", trained)
        for name, parameter in expected.items():
            torch.testing.assert_close(trained[name], parameter, rtol=1e-5, atol=1e-6, msg=name)

    def test_siblings_share_one_compression_per_group_on_each_rank(self):
        # Each sibling's input is a DTensor view of its own over the same tokens: q, k and v still share one
        # compression, and gate and up one, so a forward pass of two layers leaves four alive, not ten.
        for rank in self.ranks:
            self.assertEqual(rank["exact"][1], [4] * STEPS)
            self.assertEqual(rank["half"][1], [4] * STEPS)

    def test_the_approximate_run_trained(self):
        initial = dict(initial_llama().named_parameters())
        trained = self.ranks[0]["half"][0]
        for name in ("layers.0.self_attn.q_proj.weight", "layers.1.mlp.up_proj.weight"):
            self.assertTrue(torch.isfinite(trained[name]).all(), name)
            self.assertFalse(torch.equal(trained[name], initial[name]), f"{name} did not change")


if __name__ == "__main__":
    unittest.main()
