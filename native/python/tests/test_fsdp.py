"""Two-process FSDP2 (fully_shard) training on the CPU (gloo) with PammQKV, bfloat16 autocast and a converted model."""

import unittest

import torch

from distributed_training import (STEPS, assert_ranks_agree, assert_trained_as, exact_block_reference, fsdp_skip_reason,
                                  initial_block, initial_llama, run_ranks)


def relative_error(actual, expected):
    return float((actual - expected).norm() / expected.norm())


@unittest.skipIf(fsdp_skip_reason() is not None, fsdp_skip_reason())
class FullyShardedDataParallelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ranks = run_ranks("fsdp_worker.py", "two gloo ranks trained under fully_shard")

    def test_ranks_gather_identical_weights(self):
        assert_ranks_agree(self, self.ranks, ("block", "bfloat16", "bfloat16-exact", "llama"))

    def test_each_rank_compresses_its_own_tokens(self):
        for rank, results in enumerate(self.ranks):
            tokens = (rank + 2) * 8
            self.assertEqual(results["block"][1], [tokens] * STEPS)
            self.assertEqual(results["bfloat16"][1], [tokens] * STEPS)
            self.assertEqual(results["bfloat16-exact"][1], [])  # nn.Linear: nothing compressed
            # Converted TinyLlama, ratio 1/2: q, k, v (and gate, up) of a layer report their group's one compression.
            self.assertEqual(results["llama"][1], [tokens // 2] * (5 * 2 * STEPS))

    def test_full_ratio_training_is_fsdp_of_exact_gradients(self):
        assert_trained_as(self, self.ranks[0]["block"][0], exact_block_reference())

    def test_bfloat16_autocast_trains_as_close_to_float32_as_nn_linear_does(self):
        # Under autocast PammQKV computes with bfloat16 casts of the gathered float32 weights and of its input, and its
        # weight gradients flow back through the casts into float32 shards. At ratio 1 its updates must then be as far
        # from the float32 updates as those of nn.Linear trained the same way: both carry only bfloat16 rounding.
        initial = {name: parameter.detach() for name, parameter in initial_block(ratio=1.0).named_parameters()}
        expected = exact_block_reference()
        pamm, exact = self.ranks[0]["bfloat16"][0], self.ranks[0]["bfloat16-exact"][0]
        for name in ("qkv.q.weight", "qkv.k.weight", "qkv.v.weight", "out.weight"):
            self.assertEqual(pamm[name].dtype, torch.float32, name)
            float32_update = expected[name] - initial[name]
            pamm_error = relative_error(pamm[name] - initial[name], float32_update)
            exact_error = relative_error(exact[name] - initial[name], float32_update)
            # bfloat16 keeps 8 significant bits: one rounding moves a value by at most 2^-8 of itself, and a few
            # roundings along the forward and backward pass stay within a few per cent.
            self.assertLess(exact_error, 0.05, f"{name}: nn.Linear in bfloat16 is {exact_error:.4f} from float32")
            self.assertLess(pamm_error, 2 * exact_error + 2 ** -8,
                            f"{name}: PAMM in bfloat16 is {pamm_error:.4f} from float32, nn.Linear {exact_error:.4f}")

    def test_the_converted_model_trained(self):
        initial = dict(initial_llama().named_parameters())
        trained = self.ranks[0]["llama"][0]
        self.assertEqual(trained.keys(), initial.keys())
        for name in ("layers.0.self_attn.q_proj.weight", "layers.1.mlp.up_proj.weight"):
            self.assertFalse(torch.equal(trained[name], initial[name]), f"{name} did not change")


if __name__ == "__main__":
    unittest.main()
