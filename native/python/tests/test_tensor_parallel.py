"""
Tensor parallelism on the CPU (gloo): a converted model with column-wise Q/K/V and gate/up shards on two ranks, and
with FSDP2 across two such pairs (four ranks, torchtitan's 2-D layout).
"""

import unittest

import torch

from distributed_training import (STEPS, assert_ranks_agree, assert_trained_as, dtensor_skip_reason, fsdp_skip_reason,
                                  initial_llama, llama_batch, llama_loss, reference_training, run_ranks)


@unittest.skipIf(dtensor_skip_reason() is not None, dtensor_skip_reason())
class TensorParallelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ranks = run_ranks("tp_worker.py", "two gloo ranks trained a tensor-parallel model")

    def test_ranks_gather_identical_weights(self):
        assert_ranks_agree(self, self.ranks, ("exact", "half"))

    def test_full_ratio_training_is_the_unsharded_models(self):
        # At r = 1 every row is a generator: each rank's shard of a weight gradient is exact, and its partial input
        # gradient is summed across the ranks, so the sharded model trains as the plain one on the same tokens.
        from tp_worker import with_qkv_biases
        expected = reference_training(with_qkv_biases(initial_llama()), lambda rank, step: llama_batch(0, step), llama_loss)
        self.assertIn("layers.1.self_attn.v_proj.bias", expected)
        assert_trained_as(self, self.ranks[0]["exact"][0], expected)

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


@unittest.skipIf(dtensor_skip_reason() or fsdp_skip_reason(), dtensor_skip_reason() or fsdp_skip_reason())
class FullyShardedTensorParallelTests(unittest.TestCase):
    def test_full_ratio_training_on_a_2_by_2_mesh_is_data_parallel_sgd_of_the_plain_model(self):
        from tp_worker import with_qkv_biases
        ranks = run_ranks("fsdp_tp_worker.py", "four gloo ranks trained under tensor parallelism and fully_shard", world_size=4)
        assert_ranks_agree(self, ranks, ("2-D",))
        # The two pairs train on tokens 0 and 1 of distributed_training's batches, as two data-parallel ranks would.
        assert_trained_as(self, ranks[0]["2-D"][0], reference_training(with_qkv_biases(initial_llama()), llama_batch, llama_loss))


if __name__ == "__main__":
    unittest.main()
