"""The decoder's pieces, and that every mode computes the same forward pass from the same weights."""

import contextlib
import dataclasses
import math
import os
import unittest
import unittest.mock

import torch

import corpus
import memory
import modes
import training
from model import (DenseQKV, Llama, ModelConfig, RMSNorm, RotaryEmbedding, causal_attention, initialise, parameter_count,
                   written_out_causal_attention)

SMALL = ModelConfig(vocab_size=256, d_model=32, n_layers=2, n_heads=4, d_ff=48, context=16)


def small_model(kind, **options):
    torch.manual_seed(0)
    return modes.Mode(kind, **options).build(SMALL)


def batch_of(sequences):
    """(inputs, targets) of `sequences` windows of SMALL's context, always the same tokens."""
    tokens = torch.randint(0, 256, (sequences, SMALL.context + 1), generator=torch.Generator().manual_seed(sequences))
    return tokens[:, :-1], tokens[:, 1:]


def reference_state():
    torch.manual_seed(1)
    return initialise(small_model("dense")).state_dict()


class ModelTest(unittest.TestCase):
    def test_rmsnorm_gives_unit_root_mean_square(self):
        x = torch.randn(5, 32) * 7
        rms = RMSNorm(32)(x).pow(2).mean(-1).sqrt()
        torch.testing.assert_close(rms, torch.ones(5), rtol=1e-5, atol=0)

    def test_rotary_keeps_position_zero_and_norms(self):
        rotary = RotaryEmbedding(head_dim=8, context=16)
        x = torch.randn(2, 3, 16, 8, dtype=torch.float64)
        rotated = rotary(x)
        torch.testing.assert_close(rotated[..., 0, :], x[..., 0, :])
        torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))

    def test_rotary_scores_depend_only_on_relative_position(self):
        rotary = RotaryEmbedding(head_dim=8, context=16)
        q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
        def score(m, n):
            queries = torch.zeros(16, 8, dtype=torch.float64)
            keys = torch.zeros(16, 8, dtype=torch.float64)
            queries[m], keys[n] = q, k
            return float(rotary(queries)[m] @ rotary(keys)[n])
        # The cos/sin tables are float32: equal to their precision.
        self.assertAlmostEqual(score(5, 2), score(12, 9), places=6)
        self.assertNotAlmostEqual(score(5, 2), score(5, 3), places=3)

    def test_attention_is_causal_and_matches_the_definition(self):
        q, k, v = (torch.randn(1, 2, 6, 4, dtype=torch.float64) for _ in range(3))
        out = causal_attention(q, k, v)
        for t in range(6):
            weights = ((q[..., t:t + 1, :] @ k[..., :t + 1, :].transpose(-2, -1)) / 2.0).softmax(-1)
            torch.testing.assert_close(out[..., t:t + 1, :], weights @ v[..., :t + 1, :])
        k2, v2 = k.clone(), v.clone()
        k2[..., 4:, :] += 1.0
        v2[..., 4:, :] += 1.0
        torch.testing.assert_close(causal_attention(q, k2, v2)[..., :4, :], out[..., :4, :])

    def test_the_written_out_attention_masks_as_masked_fill_does_bit_for_bit(self):
        # The CI quality test's bounds were measured with masked_fill (test_quality.py): the mask added instead must
        # give the same outputs and gradients, not merely close ones.
        def with_masked_fill(q, k, v):
            scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1)
            future = torch.ones(q.shape[-2], q.shape[-2], dtype=torch.bool).triu(1)
            return scores.masked_fill(future, float("-inf")).softmax(-1).to(v.dtype) @ v

        for dtype in (torch.float32, torch.float64):
            generator = torch.Generator().manual_seed(3)
            inputs = [torch.randn(2, 3, 37, 8, dtype=dtype, generator=generator) * 4 for _ in range(3)]
            upstream = torch.randn(2, 3, 37, 8, dtype=dtype, generator=generator)
            results = []
            for attention in (written_out_causal_attention, with_masked_fill):
                leaves = [t.clone().requires_grad_() for t in inputs]
                out = attention(*leaves)
                out.backward(upstream)
                results.append([out.detach()] + [leaf.grad for leaf in leaves])
            for ours, reference in zip(*results):
                self.assertTrue(torch.equal(ours, reference), dtype)
            self.assertTrue(torch.isfinite(results[0][0]).all())

    def test_tiny_config_has_about_a_million_parameters(self):
        count = parameter_count(Llama(modes.CONFIGS["tiny"].model(256)))
        self.assertTrue(0.7e6 < count < 1.3e6, count)
        self.assertEqual(modes.CONFIGS["tiny"].tokens_per_step, 4096)

    def test_llama_60m_has_the_papers_shape(self):
        config = modes.CONFIGS["llama-60m"]
        self.assertEqual((config.d_model, config.n_layers, config.n_heads, config.context), (512, 8, 8, 256))

    def test_every_mode_has_the_same_parameters_and_forward_pass(self):
        state = reference_state()
        tokens = torch.randint(0, 256, (3, 16), generator=torch.Generator().manual_seed(2))
        expected = small_model("dense")
        expected.load_state_dict(state)
        for kind in modes.DESCRIPTIONS:
            with self.subTest(kind=kind):
                model = small_model(kind)
                model.load_state_dict(state)  # strict: the same names in every mode
                torch.testing.assert_close(model(tokens), expected(tokens), rtol=0, atol=0)

    def test_checkpoint_mode_gives_the_dense_gradients(self):
        state = reference_state()
        tokens = torch.randint(0, 256, (3, 17), generator=torch.Generator().manual_seed(3))
        grads = {}
        for kind in ("dense", "checkpoint"):
            model = small_model(kind)
            model.load_state_dict(state)
            training.language_model_loss(model, tokens[:, :-1], tokens[:, 1:]).backward()
            grads[kind] = {n: p.grad for n, p in model.named_parameters()}
        for name, grad in grads["dense"].items():
            torch.testing.assert_close(grads["checkpoint"][name], grad, rtol=1e-5, atol=1e-7)

    def test_gradient_probe_is_zero_with_every_row_a_generator(self):
        # ratio = 1 makes every row its own generator with α = 1 and β = 1: PAMM's gradient is the exact one.
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        state = reference_state()
        tokens = torch.randint(0, 256, (3, 17), generator=torch.Generator().manual_seed(4))
        # Gradients probed per block: q, k, v, and each other layer that uses PAMM.
        for kind, options, per_block in (("pamm", {}, 3), ("pamm-all", {}, 6), ("pamm-all", {"other_layers": ("out", "down")}, 5)):
            with self.subTest(kind=kind, **options):
                model = small_model(kind, ratio=1.0, **options)
                model.load_state_dict(state)
                training.language_model_loss(model, tokens[:, :-1], tokens[:, 1:]).backward()
                errors = training.gradient_errors(model, small_model("dense"), tokens[:, :-1], tokens[:, 1:], settings)
                self.assertEqual(len(errors), SMALL.n_layers * per_block)
                for error in errors:
                    self.assertLess(error["relative_error"], 1e-5, error)
                    self.assertAlmostEqual(error["norm_ratio"], 1.0, places=5)

    def test_gradient_probe_sees_the_approximation_at_small_k(self):
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        model = small_model("pamm", k=2)
        model.load_state_dict(reference_state())
        tokens = torch.randint(0, 256, (3, 17), generator=torch.Generator().manual_seed(5))
        training.language_model_loss(model, tokens[:, :-1], tokens[:, 1:]).backward()
        errors = training.gradient_errors(model, small_model("dense"), tokens[:, :-1], tokens[:, 1:], settings)
        self.assertTrue(all(e["relative_error"] > 1e-3 and math.isfinite(e["norm_ratio"]) for e in errors))

    def test_kept_bytes_count_the_qkv_inputs(self):
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        batch = batch_of(4)
        kept = training.step_kept_bytes(small_model("dense"), batch, settings)
        self.assertEqual((kept.qkv_dense, kept.qkv_stored), (SMALL.n_layers * 4 * 16 * 32 * 4,) * 2)
        kept = training.step_kept_bytes(small_model("pamm", k=2), batch, settings)
        self.assertEqual(kept.qkv_dense, SMALL.n_layers * 4 * 16 * 32 * 4)
        self.assertLess(kept.qkv_stored, kept.qkv_dense / 4)
        # α in bfloat16: two bytes fewer per token in every layer (here 16 × 16 tokens: α's 512 bytes instead of 1 KiB).
        batch = batch_of(16)
        wide = training.step_kept_bytes(small_model("pamm", k=2), batch, settings)
        narrow = training.step_kept_bytes(small_model("pamm", k=2, alpha_dtype=torch.bfloat16), batch, settings)
        self.assertEqual(wide.qkv_stored - narrow.qkv_stored, SMALL.n_layers * 16 * 16 * 2)
        self.assertEqual(wide.saved - narrow.saved, SMALL.n_layers * 16 * 16 * 2)

    def test_pamm_keeps_less_by_exactly_what_it_saves_on_the_qkv_inputs(self):
        # The Q/K/V input (RMSNorm's output) is kept by the three projections and by nothing else, so the whole step
        # keeps less by exactly what dense Q/K/V keep minus PAMM's storage. Under autocast that is the input three
        # times: each nn.Linear casts it to bf16 for itself (autocast caches the casts of weights, not of activations).
        for dtype, copies in (("fp32", 1), ("bf16", 3)):
            settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"), dtype=dtype)
            dense = training.step_kept_bytes(small_model("dense"), batch_of(8), settings)
            pamm = training.step_kept_bytes(small_model("pamm", k=4), batch_of(8), settings)
            element = 4 if dtype == "fp32" else 2
            self.assertEqual(pamm.qkv_dense, SMALL.n_layers * 8 * 16 * 32 * element, dtype)
            self.assertEqual(dense.saved - pamm.saved, copies * pamm.qkv_dense - pamm.qkv_stored, dtype)
            self.assertGreater(pamm.saved, 10 * pamm.qkv_stored, dtype)  # the rest of the step is still kept

    def test_parts_name_where_the_memory_is_saved(self):
        for name, part in (("blocks.3.mlp.down", "down projection"), ("blocks.0.attn.qkv.q", "Q/K/V projections"),
                           ("blocks.0.attn.qkv", "Q/K/V projections"), ("blocks.11.attn_norm", "RMSNorm"),
                           ("norm", "RMSNorm"), ("blocks.1.attn.rotary", "attention"), ("blocks.1.attn", "attention"),
                           ("blocks.1.attn.out", "O projection"), ("blocks.1.mlp", "SwiGLU"),
                           ("blocks.1.mlp.gate_up", "gate/up projection"), ("blocks.2", "block inputs (checkpoint)"),
                           ("embed", "embedding"), ("head", "head"), ("", "loss, and the model outside its modules"),
                           ("linear", "other modules")):
            self.assertEqual(memory.part_of(name), part, name)

    def test_the_parts_add_up_and_pamm_changes_only_the_qkv_part(self):
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        dense = training.step_kept_bytes(small_model("dense"), batch_of(8), settings)
        pamm = training.step_kept_bytes(small_model("pamm", k=4), batch_of(8), settings)
        checkpoint = training.step_kept_bytes(small_model("checkpoint"), batch_of(8), settings)
        for kept in (dense, pamm, checkpoint):
            self.assertEqual(sum(kept.saved_by_part.values()), kept.saved)
        qkv = "Q/K/V projections"
        self.assertEqual(dense.saved_by_part[qkv] - pamm.saved_by_part[qkv], pamm.qkv_dense - pamm.qkv_stored)
        self.assertEqual({k: v for k, v in dense.saved_by_part.items() if k != qkv},
                         {k: v for k, v in pamm.saved_by_part.items() if k != qkv})
        self.assertGreater(dense.saved_by_part["SwiGLU"], 0)
        # Checkpointing keeps nothing from inside its blocks, only their inputs (one (tokens, d_model) float32 each).
        self.assertEqual(checkpoint.saved_by_part["block inputs (checkpoint)"], SMALL.n_layers * 8 * 16 * 32 * 4)
        self.assertFalse({"SwiGLU", "attention", qkv} & set(checkpoint.saved_by_part))

    def test_saved_bytes_count_each_storage_once_and_no_parameters(self):
        class Projection(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = torch.nn.Linear(6, 5, bias=False)
                self.register_buffer("scale", torch.full((5,), 2.0))

        def loss_function(model, x, _):
            # linear keeps x and its weight; y * y keeps y twice, y[:, :2] ** 3 a view of it, * scale the buffer.
            y = model.linear(x)
            return (y * y).sum() + (y[:, :2] ** 3).sum() + (y * model.scale).sum()

        x = torch.randn(7, 6)
        kept = memory.kept_bytes(Projection(), x, None, loss_function, contextlib.nullcontext)
        self.assertEqual(kept.saved, 7 * 6 * 4 + 7 * 5 * 4)  # x and y once each; the weight and the buffer not at all
        # x is saved inside the linear layer; y first by y * y, outside every module.
        self.assertEqual(kept.saved_by_part, {"other modules": 7 * 6 * 4, "loss, and the model outside its modules": 7 * 5 * 4})
        self.assertEqual((kept.qkv_dense, kept.qkv_stored), (0, 0))

    def test_checkpoint_keeps_each_blocks_input(self):
        # One more checkpointed block keeps one more (tokens, d_model) float32 input; the rest of the step is the same.
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        def saved(kind, layers):
            torch.manual_seed(0)
            model = modes.Mode(kind).build(dataclasses.replace(SMALL, n_layers=layers))
            return training.step_kept_bytes(model, batch_of(4), settings).saved
        self.assertEqual(saved("checkpoint", 3) - saved("checkpoint", 2), 4 * 16 * 32 * 4)
        self.assertGreater(saved("dense", 3) - saved("dense", 2), 10 * 4 * 16 * 32 * 4)
        self.assertLess(saved("checkpoint", 2), saved("pamm", 2))
        self.assertLess(saved("pamm", 2), saved("dense", 2))

    def test_the_step_peak_is_a_cuda_figure(self):
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cpu"))
        self.assertIsNone(training.step_peak_bytes(small_model("dense"), batch_of(2), settings))

    def test_dense_qkv_has_the_interface_of_pamm_qkv(self):
        import pammcuda
        x = torch.randn(2, 5, 32)
        dense, pamm = DenseQKV(32, 32), pammcuda.PammQKV(32, 32, bias=False)
        pamm.load_state_dict(dense.state_dict())
        for a, b in zip(dense(x), pamm(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


class ModeParsingTest(unittest.TestCase):
    def test_options(self):
        self.assertEqual(modes.parse_mode("pamm:r=1/128").ratio, 1 / 128)
        self.assertEqual(modes.parse_mode("pamm:k=64:eps=0.5"), modes.Mode("pamm", 1 / 512, 64, 0.5, label="pamm:k=64:eps=0.5"))
        self.assertEqual(modes.parse_mode("pamm:alpha=bf16").pamm_options()["alpha_dtype"], torch.bfloat16)
        self.assertEqual(modes.parse_mode("pamm").pamm_options()["alpha_dtype"], torch.float32)
        self.assertEqual(modes.parse_mode("crs").pamm_options()["epsilon"], 0.0)
        self.assertTrue(modes.parse_mode("pamm:k=8:fused").fused_projection)
        self.assertFalse(modes.parse_mode("pamm").fused_projection)
        self.assertTrue(modes.parse_mode("pamm:fused").reported_options()["fused_projection"])
        self.assertTrue(modes.parse_mode("pamm:k=8:refine").pamm_options()["refine_generators"])
        self.assertFalse(modes.parse_mode("pamm").pamm_options()["refine_generators"])
        self.assertTrue(modes.parse_mode("pamm-all:refine").reported_options()["refine_generators"])

    def test_fused_reaches_the_qkv_layers_only(self):
        model = small_model("pamm-all", k=2, fused_projection=True)
        qkv = modes.kept_input_modules(model)
        self.assertTrue(qkv and all(layer.fused_projection for layer in qkv))
        self.assertFalse(any(layer.fused_projection for layer in modes.kept_input_modules(small_model("pamm", k=2))))

    def test_overlap_reaches_every_pamm_layer_and_the_report(self):
        self.assertTrue(modes.parse_mode("pamm:k=8:overlap").overlap_compression)
        self.assertFalse(modes.parse_mode("pamm").reported_options()["overlap_compression"])
        self.assertTrue(modes.parse_mode("pamm-all:overlap").reported_options()["overlap_compression"])
        layers = modes.pamm_modules(small_model("pamm-all", k=2, overlap_compression=True))
        self.assertTrue(layers and all(layer.overlap_compression for _, layer in layers))
        self.assertFalse(any(layer.overlap_compression for _, layer in modes.pamm_modules(small_model("pamm", k=2))))

    def test_refine_reaches_every_pamm_layer(self):
        layers = modes.pamm_modules(small_model("pamm-all", k=2, refine_generators=True))
        self.assertTrue(layers and all(layer.sampling.options.refine_generators for _, layer in layers))
        self.assertFalse(any(layer.sampling.options.refine_generators for _, layer in modes.pamm_modules(small_model("pamm", k=2))))

    def test_pamm_all_layers_name_which_other_layers_use_pamm(self):
        self.assertEqual(modes.parse_mode("pamm-all").other_layers, ("out", "gate_up", "down"))
        self.assertEqual(modes.parse_mode("pamm-all:layers=down+out:k=8").other_layers, ("out", "down"))
        self.assertEqual(modes.parse_mode("pamm-all:layers=gate_up").reported_options()["layers"], ["gate_up"])
        self.assertNotIn("layers", modes.parse_mode("pamm").reported_options())
        model = small_model("pamm-all", k=2, other_layers=("down",))
        self.assertEqual([type(m).__name__ for m in (model.blocks[0].attn.qkv, model.blocks[0].attn.out,
                                                     model.blocks[0].mlp.gate_up, model.blocks[0].mlp.down)],
                         ["PammQKV", "Linear", "Linear", "PammLinear"])
        # Q/K/V and one PAMM layer per block, as the gradient probes see them.
        self.assertEqual(len(modes.pamm_modules(model)), 2 * SMALL.n_layers)

    def test_bad_modes_name_the_problem(self):
        for text, message in (("sparse", "unknown mode"), ("pamm:q=2", "unknown option"), ("dense:k=4", "no PAMM"),
                              ("pamm:r=2", "outside"), ("pamm:alpha=f16", "f32 or bf16"),
                              ("pamm:fused=no", "unknown option 'fused=no'"), ("dense:fused", "no PAMM"),
                              ("pamm:refine=yes", "unknown option 'refine=yes'"), ("dense:refine", "no PAMM"),
                              ("pamm:overlap=1", "unknown option 'overlap=1'"), ("checkpoint:overlap", "no PAMM"),
                              ("crs:eps=0.5", "crs is PAMM at ε = 0"),
                              ("pamm:layers=down", "pamm-all's option"), ("pamm-all:layers=up", "out, gate_up, down"),
                              ("pamm-all:layers=", "out, gate_up, down"), ("pamm-all:layers=out+", "out, gate_up, down")):
            with self.subTest(text=text), self.assertRaisesRegex(ValueError, message):
                modes.parse_mode(text)

    def test_learning_rate_warms_up_then_decays_to_a_tenth(self):
        self.assertAlmostEqual(training.learning_rate(5, 100, 1.0, 10), 0.5)
        self.assertAlmostEqual(training.learning_rate(10, 100, 1.0, 10), 1.0)
        self.assertAlmostEqual(training.learning_rate(100, 100, 1.0, 10), 0.1)


class Bf16CheckTest(unittest.TestCase):
    def test_it_tells_a_float32_sum_from_a_bfloat16_one(self):
        # bfloat16 holds no odd integer above 256: a product that sums 4,096 ones in bfloat16 stops there. Where it does
        # (PyTorch 1.13 on the CPU), the check's product must be far off; where the ones reach 4,096 (PyTorch 2), within
        # the tolerance. CI's two lanes take one branch each.
        ones = torch.ones(4096, 8, dtype=torch.bfloat16)
        sums_in_float = float((ones.T @ ones)[0, 0]) == 4096
        error = training.bf16_product_error(torch.device("cpu"))
        if sums_in_float:
            self.assertLess(error, training.BF16_PRODUCT_TOLERANCE)
        else:
            self.assertGreater(error, 0.25)

    def test_the_tolerance_passes_one_rounding_to_bfloat16(self):
        # The same product summed exactly and rounded once to bfloat16 is inside the tolerance, by a margin.
        g, x = training.bf16_gradient_terms(4096)
        exact = g.double().T @ x.double()
        rounded = exact.bfloat16().double()
        self.assertLess(float((rounded - exact).norm() / exact.norm()), training.BF16_PRODUCT_TOLERANCE / 2)


class StopwatchTest(unittest.TestCase):
    def test_counts_only_from_start_and_never_while_paused(self):
        clock = iter([10.0, 13.0, 14.0, 20.0, 22.0])  # start, pause, resume, pause, (unused)
        with unittest.mock.patch.object(training.time, "perf_counter", lambda: next(clock)):
            stopwatch = training.Stopwatch(torch.device("cpu"))
            stopwatch.pause()  # a warm-up step's log: nothing is counted before start()
            stopwatch.resume()
            self.assertEqual((stopwatch.total, stopwatch.started), (0.0, None))
            stopwatch.start()
            stopwatch.pause()
            stopwatch.resume()
            stopwatch.pause()
            stopwatch.pause()  # a second pause adds nothing
        self.assertEqual(stopwatch.total, 3.0 + 6.0)


def pamm_run(config, k, probes, steps, corpus_tokens, overlap_compression=False, **settings):
    """
    The record of train_one for PAMM at k on random bytes (a tenth of them the validation split), probing at `probes`,
    with each compression on a side stream where overlap_compression.
    """
    tokens = torch.randint(0, 256, (corpus_tokens,), generator=torch.Generator().manual_seed(5))
    data = corpus.Corpus(train=tokens, val=tokens[:corpus_tokens // 10], vocab_size=256, token_bytes=torch.ones(256), meta={})
    settings = training.Settings(config=config, steps=steps, warmup_steps=1, probe_steps=probes, log=lambda line: None, **settings)
    mode = modes.Mode("pamm", k=k, overlap_compression=overlap_compression)
    return training.train_one(mode, data, settings, training.initial_state(settings, 256), steps)


class ProbeTest(unittest.TestCase):
    def test_probes_measure_without_changing_the_training(self):
        # A probe runs a dense twin on the same batch between backward and the update: the run's losses stay bit for bit.
        config = modes.TrainConfig(d_model=32, n_layers=2, n_heads=4, d_ff=48, context=16, tokens_per_step=256, lr=1e-3)
        records = {probes: pamm_run(config, 4, probes, 3, 5000, device=torch.device("cpu"), val_tokens=512) for probes in ("none", "1,3")}
        self.assertEqual([probe["step"] for probe in records["1,3"]["gradient_probes"]], [1, 3])
        self.assertEqual(records["1,3"]["train_loss"], records["none"]["train_loss"])
        self.assertEqual(records["1,3"]["val_loss"], records["none"]["val_loss"])


class ValidationCurveTest(unittest.TestCase):
    def test_validating_during_a_run_changes_none_of_its_steps(self):
        # PAMM draws its per-step seeds from torch's generator: validation in between must draw nothing and change nothing.
        config = modes.TrainConfig(d_model=32, n_layers=2, n_heads=4, d_ff=48, context=16, tokens_per_step=256, lr=1e-3)
        plain, curved = (pamm_run(config, 4, "none", 5, 5000, device=torch.device("cpu"), val_tokens=512, eval_every=every)
                         for every in (None, 2))
        self.assertEqual(plain["val_curve"], [])
        self.assertEqual([point["step"] for point in curved["val_curve"]], [2, 4, 5])
        self.assertEqual(curved["train_loss"], plain["train_loss"])
        self.assertEqual(curved["val_loss"], plain["val_loss"])
        self.assertEqual(curved["val_curve"][-1]["val_loss"], curved["val_loss"])
        self.assertEqual(curved["val_curve"][0]["val_perplexity"], math.exp(curved["val_curve"][0]["val_loss"]))
        self.assertNotEqual(curved["val_curve"][0]["val_loss"], curved["val_loss"], "the model trains between the points")


class FakeCudaAllocator:
    """PyTorch's CUDA allocator statistics (allocated, peak since the last reset), kept by hand for PeakMemory's tests."""

    def __init__(self, allocated):
        self.allocated = self.peak = allocated

    def allocate(self, size):
        self.allocated += size
        self.peak = max(self.peak, self.allocated)

    def free(self, size):
        self.allocated -= size

    def reset_peak(self, device=None):
        self.peak = self.allocated

    @contextlib.contextmanager
    def installed(self):
        cuda = training.torch.cuda
        with unittest.mock.patch.object(cuda, "synchronize", lambda device=None: None), \
                unittest.mock.patch.object(cuda, "reset_peak_memory_stats", self.reset_peak), \
                unittest.mock.patch.object(cuda, "memory_allocated", lambda device=None: self.allocated), \
                unittest.mock.patch.object(cuda, "max_memory_allocated", lambda device=None: self.peak):
            yield


class PeakMemoryTest(unittest.TestCase):
    def test_the_peak_is_the_timed_steps_own_with_the_probes_left_out(self):
        allocator = FakeCudaAllocator(allocated=100)
        with allocator.installed():
            peak = training.PeakMemory(torch.device("cuda"))
            allocator.allocate(900)  # before the timed steps (warm-up): not counted
            allocator.free(900)
            peak.start()
            allocator.allocate(50)  # a step
            allocator.free(50)
            with peak.excluded():  # a probe's exact model, activations and gradients, all freed again
                allocator.allocate(1000)
                allocator.free(1000)
            allocator.allocate(30)  # the rest of that step: counted from what is held
            self.assertEqual(peak.peak(), 150)
            allocator.allocate(40)
            self.assertEqual(peak.peak(), 170)
        self.assertEqual(peak.baseline, 100)

    def test_no_figures_off_cuda_or_before_the_timed_steps(self):
        allocator = FakeCudaAllocator(allocated=0)
        with allocator.installed():
            waiting = training.PeakMemory(torch.device("cuda"))
            with waiting.excluded():  # a probe in warm-up leaves the counter alone
                allocator.allocate(10)
            self.assertIsNone(waiting.peak())
            self.assertEqual(allocator.peak, 10)
        cpu = training.PeakMemory(torch.device("cpu"))
        cpu.start()
        with cpu.excluded():
            pass
        self.assertEqual((cpu.peak(), cpu.baseline), (None, None))


def cuda_skip_reason():
    """Why the CUDA tests skip here (None where CUDA is present); with PAMM_REQUIRE_CUDA=1 (a GPU visit) an error instead."""
    if torch.cuda.is_available():
        return None
    if os.environ.get("PAMM_REQUIRE_CUDA") == "1":
        raise RuntimeError("PAMM_REQUIRE_CUDA=1, but PyTorch sees no CUDA device")
    return "no CUDA device: a step's peak memory is measured on GPUs only"


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaStepPeakTest(unittest.TestCase):
    def test_a_pamm_step_peaks_lower_than_a_dense_step_by_much_of_what_it_keeps_less(self):
        # llama-60m's block at 8K tokens: the activations dominate the peak, so PAMM's smaller saved set shows in it.
        config = ModelConfig(vocab_size=256, d_model=512, n_layers=4, n_heads=8, d_ff=1376, context=256)
        settings = training.Settings(config=modes.CONFIGS["tiny"], device=torch.device("cuda"), dtype="bf16")
        tokens = torch.randint(0, 256, (32, config.context + 1), generator=torch.Generator().manual_seed(3))
        batch = tokens[:, :-1], tokens[:, 1:]
        kept, peak = {}, {}
        for kind in ("dense", "pamm"):
            torch.manual_seed(0)
            model = modes.Mode(kind, k=16).build(config).cuda()
            kept[kind] = training.step_kept_bytes(model, batch, settings).saved
            peak[kind] = training.step_peak_bytes(model, batch, settings)
            del model
        saving = kept["dense"] - kept["pamm"]
        self.assertGreater(saving, 4 * 3 * 8192 * 512 * 2 * 0.95)  # three bf16 copies of each layer's Q/K/V input
        self.assertLess(peak["pamm"], peak["dense"])
        # Everything else in the two steps is the same; PAMM's products add a small transient workspace.
        self.assertGreaterEqual(peak["dense"] - peak["pamm"], saving // 2, (peak, kept))

    def test_a_runs_peak_leaves_the_gradient_probes_out(self):
        # The same PAMM run with and without probes: each probe holds a dense twin of the model, its activations and its
        # gradients on the device for a moment, which the run's peak must not include.
        config = modes.TrainConfig(d_model=256, n_layers=2, n_heads=4, d_ff=688, context=128, tokens_per_step=4096, lr=1e-3)
        peaks = {}
        for probes in ("none", "2,4"):
            record = pamm_run(config, 16, probes, 4, 200_000, device=torch.device("cuda"), dtype="bf16", val_tokens=4096)
            peaks[probes] = record["peak_memory_bytes"]
            self.assertEqual(len(record["gradient_probes"]), 0 if probes == "none" else 2)
        twin = sum(p.numel() * 4 for p in modes.Mode("dense").build(config.model(256)).parameters())
        # Allocation patterns differ a little between the runs (the caching allocator's blocks); a twin is far more.
        self.assertLess(abs(peaks["2,4"] - peaks["none"]), twin // 4, (peaks, twin))

    def test_compressions_on_a_side_stream_train_as_on_the_current_one(self):
        # pamm:overlap changes where each compression runs, not its values (pammcuda's test_side_stream checks the
        # layers bit for bit). Attention's backward is not deterministic on CUDA, so the runs agree closely, not exactly;
        # a compression read before it was written would part them by far more.
        config = modes.TrainConfig(d_model=256, n_layers=2, n_heads=4, d_ff=688, context=128, tokens_per_step=4096, lr=1e-3)
        records = {overlap: pamm_run(config, 16, "none", 6, 200_000, overlap_compression=overlap, device=torch.device("cuda"),
                                     dtype="bf16", val_tokens=4096) for overlap in (False, True)}
        self.assertTrue(records[True]["pamm"]["overlap_compression"])
        self.assertEqual(records[True]["train_loss"][0], records[False]["train_loss"][0], "the first forward pass")
        for overlapped, plain in zip(records[True]["train_loss"] + [records[True]["val_loss"]],
                                     records[False]["train_loss"] + [records[False]["val_loss"]]):
            self.assertAlmostEqual(overlapped, plain, delta=0.01)


if __name__ == "__main__":
    unittest.main()
