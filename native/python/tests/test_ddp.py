"""Two-process DistributedDataParallel training on the CPU (gloo) with PammQKV and a converted model."""

import unittest

import torch

from distributed_training import (STEPS, assert_ranks_agree, assert_trained_as, exact_block_reference, gloo_skip_reason,
                                  initial_llama, run_ranks)


@unittest.skipIf(gloo_skip_reason() is not None, gloo_skip_reason())
class DistributedDataParallelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ranks = run_ranks("ddp_worker.py", "two gloo ranks trained")

    def test_ranks_keep_identical_weights(self):
        assert_ranks_agree(self, self.ranks, ("block", "llama"))

    def test_each_rank_compresses_its_own_tokens(self):
        for rank, results in enumerate(self.ranks):
            tokens = (rank + 2) * 8
            # PammQKV, ratio 1: one compression of all this rank's tokens per step.
            self.assertEqual(results["block"][1], [tokens] * STEPS)
            # Converted TinyLlama, ratio 1/2: q, k, v (and gate, up) of a layer report their group's one compression.
            self.assertEqual(results["llama"][1], [tokens // 2] * (5 * 2 * STEPS))

    def test_full_ratio_training_is_ddp_of_exact_gradients(self):
        assert_trained_as(self, self.ranks[0]["block"][0], exact_block_reference())

    def test_the_converted_model_trained(self):
        initial = dict(initial_llama().named_parameters())
        trained = self.ranks[0]["llama"][0]
        for name in ("layers.0.self_attn.q_proj.weight", "layers.1.mlp.up_proj.weight"):
            self.assertFalse(torch.equal(trained[name], initial[name]), f"{name} did not change")


if __name__ == "__main__":
    unittest.main()
