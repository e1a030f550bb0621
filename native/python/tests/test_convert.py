"""Tests of pammcuda.convert on local models with Hugging Face's names (CPU), and on transformers' models where installed."""

import copy
import gc
import io
import math
import pickle
import unittest
import warnings
import weakref

import torch
from torch import nn

import pammcuda
from requirements import cuda_skip_reason, inductor_skip_reason, torch_at_least
from tiny_models import Conv1D, GateUpMLP, GPT2Attention, LlamaAttention, QKVAttention, TinyLlama

ATTENTION_NAMES = [(f"layers.{i}.self_attn.q_proj", f"layers.{i}.self_attn.k_proj", f"layers.{i}.self_attn.v_proj") for i in range(2)]


def live_compressed():
    gc.collect()  # garbage of an earlier test must not be freed in the middle of a count
    return pammcuda.live_compressed_count()


def epsilon(dtype):
    return torch.finfo(dtype).eps


def assert_sums_close(actual, expected, terms, dtype=torch.float32, msg=None):
    """
    Equal up to summation order and one rounding to `dtype`: each element is a sum of `terms` products. Both sides
    may sum in another order and round once, so the bound is `terms` float32 ulps plus one ulp of `dtype`, relative
    to the largest magnitude.
    """
    scale = expected.abs().max().item()
    tolerance = (terms * 2 ** -23 + epsilon(dtype)) * scale
    torch.testing.assert_close(actual.float(), expected.float(), rtol=0, atol=tolerance, msg=msg)


def assert_projection_gradients_match(attention, reference, outputs, expected, terms):
    """Back-propagates the same random gradients through q/k/v's outputs and the reference's; the weight gradients agree."""
    grads = [torch.randn_like(output) for output in outputs]
    torch.autograd.backward(outputs, grads)
    torch.autograd.backward(expected, grads)
    for name in ("q_proj", "k_proj", "v_proj"):
        assert_sums_close(getattr(attention, name).weight.grad, getattr(reference, name).weight.grad, terms=terms)


def converted_and_reference(model, **options):
    """`model` converted in place and an unconverted deep copy of it made first (same parameters)."""
    reference = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converting these models must not leave anything out
        return pammcuda.convert(model, **options), reference


def tokens(batch=2, length=12, vocabulary=64, seed=0):
    return torch.randint(0, vocabulary, (batch, length), generator=torch.Generator().manual_seed(seed))


def capture_compressions(model, names):
    """Forward hooks that record the compressed input on each named module's output node (None when there is none)."""
    captured = {}
    modules = dict(model.named_modules())

    def hook(name):
        def record(module, inputs, output):
            captured[name] = getattr(output.grad_fn, "compressed", None)
        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in names]
    return captured, handles


def next_token_loss(model, batch):
    logits = model(batch[:, :-1])
    return nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def exact_weight_gradients(model, names, batch):
    """
    Float64 products Gᵀ X of the operands each projection in `names` saw, by the weight names: what a weight gradient
    is before any rounding. Hooks capture X on the way forward and G on the way back; nothing else of the model changes.
    """
    operands = {}

    def capture(name):
        def forward_hook(module, inputs, output):
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1])
            output.register_hook(lambda g: operands.__setitem__(name, (g.detach().reshape(-1, g.shape[-1]), x)))
        return forward_hook

    handles = [model.get_submodule(name).register_forward_hook(capture(name)) for name in names]
    try:
        next_token_loss(model, batch).backward()
    finally:
        for handle in handles:
            handle.remove()
    model.zero_grad(set_to_none=True)
    return {f"{name}.weight": g.double().t() @ x.double() for name, (g, x) in operands.items()}


def loss_and_gradients(model, batch):
    """Cross-entropy of next-token prediction, and every parameter's gradient (model's .grad left untouched)."""
    loss = next_token_loss(model, batch)
    parameters = [p for p in model.parameters() if p.requires_grad]
    return loss, dict(zip([n for n, p in model.named_parameters() if p.requires_grad], torch.autograd.grad(loss, parameters)))


class ConvertFindsSiblingsTests(unittest.TestCase):
    def test_attention_siblings_share_a_group_and_the_rest_is_left_alone(self):
        model, _ = converted_and_reference(TinyLlama(), ratio=0.25, seed=3)
        self.assertEqual([c.names for c in pammcuda.conversions(model)], ATTENTION_NAMES)
        self.assertEqual({c.kind for c in pammcuda.conversions(model)}, {"attention"})
        converted = {name for name, module in model.named_modules() if pammcuda.is_converted(module)}
        self.assertEqual(converted, {name for names in ATTENTION_NAMES for name in names})
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear) and name not in converted:  # o_proj, the MLP, lm_head
                self.assertIs(type(module), nn.Linear, name)
        attention = model.layers[0].self_attn
        self.assertIs(attention.q_proj.pamm_compression, attention.v_proj.pamm_compression)
        self.assertIsNot(attention.q_proj.pamm_compression, model.layers[1].self_attn.q_proj.pamm_compression)

    def test_mlp_option_groups_gate_and_up_projections(self):
        model, _ = converted_and_reference(TinyLlama(), mlp=True)
        groups = {(c.kind, c.names) for c in pammcuda.conversions(model)}
        for i in range(2):
            self.assertIn(("mlp", (f"layers.{i}.mlp.gate_proj", f"layers.{i}.mlp.up_proj")), groups)
        self.assertIs(type(model.layers[0].mlp.down_proj), nn.Linear)
        self.assertEqual(len(groups), 4)

    def test_fused_linear_and_conv1d_are_converted_alone(self):
        model = nn.Sequential(QKVAttention(16, 2), GPT2Attention(16, 2))
        converted, _ = converted_and_reference(model)
        self.assertEqual([(c.kind, c.names) for c in pammcuda.conversions(converted)],
                         [("fused-qkv", ("0.qkv_proj",)), ("fused-qkv", ("1.c_attn",))])
        self.assertIsInstance(model[1].c_attn, Conv1D)
        self.assertIs(type(model[1].c_proj), Conv1D)

    def test_a_fused_gate_up_projection_is_converted_alone_with_the_mlp_option(self):
        model = nn.Sequential(QKVAttention(16, 2), GateUpMLP(16, 24))
        self.assertEqual([c.kind for c in pammcuda.conversions(pammcuda.convert(copy.deepcopy(model)))], ["fused-qkv"])
        self.assertEqual(pammcuda.conversions(pammcuda.convert(copy.deepcopy(model), mlp=True, fused=False)), [])
        converted, reference = converted_and_reference(model, ratio=1.0, mlp=True)
        self.assertEqual([(c.kind, c.names) for c in pammcuda.conversions(converted)],
                         [("fused-qkv", ("0.qkv_proj",)), ("fused-mlp", ("1.gate_up_proj",))])
        self.assertIs(type(converted[1].down_proj), nn.Linear)
        x = torch.randn(3, 5, 16)
        gradients = torch.autograd.grad(converted(x).square().sum(), list(converted.parameters()))
        expected = torch.autograd.grad(reference(x).square().sum(), list(reference.parameters()))
        for gradient, reference_gradient in zip(gradients, expected):
            # 15 tokens per sum, twice: the MLP's exact input gradient rounds too before it reaches the attention.
            assert_sums_close(gradient, reference_gradient, terms=2 * 15)

    def test_a_subclass_or_float64_weights_are_left_alone_with_a_warning(self):
        class LoraLinear(nn.Linear):
            pass

        attention = LlamaAttention(16, 2, 2)
        attention.k_proj = LoraLinear(16, 16, bias=False)
        attention.v_proj.double()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pammcuda.convert(attention)
        messages = [str(warning.message) for warning in caught]
        self.assertEqual(len(messages), 2, messages)
        self.assertRegex(messages[0], r"^pammcuda.convert leaves k_proj alone: it is a .*LoraLinear, not an nn.Linear")
        self.assertEqual(messages[1], "pammcuda.convert leaves v_proj alone: it has torch.float64 weights; PAMM takes "
                                      "float32, float16 or bfloat16")
        self.assertEqual([c.names for c in pammcuda.conversions(attention)], [("q_proj",)])
        self.assertIs(type(attention.k_proj), LoraLinear)

    def test_a_model_without_known_names_warns_and_is_unchanged(self):
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        with self.assertWarnsRegex(UserWarning, "found no projection to convert in Sequential"):
            self.assertIs(pammcuda.convert(model), model)
        self.assertEqual(pammcuda.conversions(model), [])
        self.assertTrue(all(type(m) in (nn.Linear, nn.ReLU, nn.Sequential) for m in model.modules()))

    def test_converting_twice_changes_nothing_and_unconvert_restores(self):
        model = pammcuda.convert(TinyLlama(), ratio=0.5)
        shared = model.layers[0].self_attn.q_proj.pamm_compression
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            pammcuda.convert(model, ratio=0.25)
        self.assertIs(model.layers[0].self_attn.q_proj.pamm_compression, shared)
        self.assertIn("ratio=0.5", pammcuda.conversions(model)[0].sampling)
        pammcuda.unconvert(model)
        self.assertEqual(pammcuda.conversions(model), [])
        self.assertTrue(all(type(m) is nn.Linear for m in model.modules() if isinstance(m, nn.Linear)))
        self.assertFalse(hasattr(model.layers[0].self_attn.q_proj, "pamm_compression"))

    def test_bad_options_are_rejected_naming_the_option(self):
        for options, name in (({"ratio": 0.0}, "ratio"), ({"ratio": 1.5}, "ratio"), ({"k": -1}, "k"), ({"k": 2.5}, "k"),
                              ({"epsilon": -0.1}, "epsilon"), ({"epsilon": math.nan}, "epsilon"), ({"seed": -1}, "seed")):
            with self.subTest(**options), self.assertRaisesRegex(ValueError, f"^{name} must"):
                pammcuda.convert(TinyLlama(), **options)


class DropInTests(unittest.TestCase):
    """A converted model computes what the original computes; only the weight gradients' source changes."""

    def setUp(self):
        torch.manual_seed(4)

    def test_parameters_state_dict_and_hooks_are_kept(self):
        model = TinyLlama()
        parameters = dict(model.named_parameters())
        calls = []
        model.layers[0].self_attn.k_proj.register_forward_hook(lambda *args: calls.append("k_proj"))
        state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
        pammcuda.convert(model)
        q_proj = model.layers[0].self_attn.q_proj
        self.assertIsInstance(q_proj, nn.Linear)
        self.assertIs(q_proj.weight, parameters["layers.0.self_attn.q_proj.weight"])
        self.assertEqual(dict(model.named_parameters()).keys(), parameters.keys())
        self.assertEqual(list(model.state_dict()), list(state))
        # A checkpoint of the original model loads into the converted one, strictly, and the other way round.
        TinyLlama().load_state_dict(model.state_dict())
        model.load_state_dict(state)
        model(tokens())
        self.assertEqual(calls, ["k_proj"])
        self.assertIn("pamm=SharedCompression(attention, ratio=0.001953125", repr(q_proj))

    def test_forward_is_bitwise_the_original_in_train_eval_and_no_grad(self):
        model, reference = converted_and_reference(TinyLlama(), ratio=0.25)
        batch = tokens()
        torch.testing.assert_close(model(batch), reference(batch), rtol=0, atol=0)
        model.eval(), reference.eval()
        torch.testing.assert_close(model(batch), reference(batch), rtol=0, atol=0)
        before = live_compressed()
        with torch.no_grad():
            output = model(batch)
            self.assertEqual(live_compressed(), before, "a no_grad pass compressed")
        torch.testing.assert_close(output, reference(batch).detach(), rtol=0, atol=0)

    def test_one_compression_serves_an_attentions_three_projections(self):
        model, _ = converted_and_reference(TinyLlama(), ratio=0.25)
        names = [name for group in ATTENTION_NAMES for name in group]
        captured, _ = capture_compressions(model, names)
        before = live_compressed()
        logits = model(tokens(batch=2, length=12))
        self.assertEqual(live_compressed(), before + 2, "one compression per attention layer")
        for q, k, v in ATTENTION_NAMES:
            self.assertIs(captured[q], captured[k])
            self.assertIs(captured[q], captured[v])
            self.assertEqual(captured[q].k, round(0.25 * 24))  # 2 x 12 tokens, ratio 1/4
        self.assertIsNot(captured[ATTENTION_NAMES[0][0]], captured[ATTENTION_NAMES[1][0]])
        captured.clear()  # the hooks' dictionary must not keep the compressions alive
        logits.sum().backward()
        del logits
        self.assertEqual(live_compressed(), before, "the graph's compressions outlived it")

    def test_full_ratio_gives_the_exact_gradients(self):
        model, reference = converted_and_reference(TinyLlama(), ratio=1.0, mlp=True)
        batch = tokens(batch=2, length=12)
        loss, gradients = loss_and_gradients(model, batch)
        reference_loss, reference_gradients = loss_and_gradients(reference, batch)
        self.assertEqual(loss.item(), reference_loss.item())
        for name, gradient in gradients.items():
            # ratio = 1 keeps every token as its own generator: only the summation order differs (22 tokens).
            assert_sums_close(gradient, reference_gradients[name], terms=22)

    def test_bfloat16_weights(self):
        model, reference = converted_and_reference(TinyLlama().to(torch.bfloat16), ratio=1.0, mlp=True)
        batch = tokens()
        loss, gradients = loss_and_gradients(model, batch)
        reference_loss, reference_gradients = loss_and_gradients(reference, batch)
        self.assertEqual(loss.item(), reference_loss.item())
        converted = [name for conversion in pammcuda.conversions(model) for name in conversion.names]
        exact = exact_weight_gradients(model, converted, batch)
        self.assertEqual(set(exact), {f"{name}.weight" for name in converted}, "every converted projection was seen")
        self.assertEqual(len(exact), 10, "q, k, v, gate and up of two layers")
        for name, gradient in gradients.items():
            self.assertEqual(gradient.dtype, torch.bfloat16, name)
            if name in exact:
                # PAMM's weight gradient is a float32 sum rounded once to bfloat16. nn.Linear's is not on every
                # machine: torch 1.13's CPU bfloat16 GEMM without AVX-512 rounds partial sums too (2.3 eps·max from
                # the exact product at 22 terms on an AMD EPYC), so the converted layers are held to the exact
                # product of the operands they saw instead of to nn.Linear's.
                assert_sums_close(gradient, exact[name], terms=22, dtype=torch.bfloat16, msg=name)
            else:
                # The rest ran the same bfloat16 operations in both models, up to the order in which autograd adds
                # the three projections' input gradients.
                assert_sums_close(gradient, reference_gradients[name], terms=22, dtype=torch.bfloat16, msg=name)

    def test_float16_weights_behave_as_nn_linear(self):
        model, reference = converted_and_reference(LlamaAttention(16, 2, 2).to(torch.float16), ratio=1.0)
        x = torch.randn(2, 8, 16).to(torch.float16)
        try:
            expected = reference(x)
        except RuntimeError as error:  # torch 1.13 has no float16 matmul on the CPU: the same error, then
            with self.assertRaises(RuntimeError) as raised:
                model(x)
            self.assertEqual(str(raised.exception), str(error))
            return
        output = model(x)
        torch.testing.assert_close(output, expected, rtol=0, atol=0)
        grad = torch.randn_like(output)
        output.backward(grad)
        expected.backward(grad)
        for name in ("q_proj", "k_proj", "v_proj"):
            assert_sums_close(getattr(model, name).weight.grad, getattr(reference, name).weight.grad, terms=16, dtype=torch.float16)

    def test_autocast_runs_projections_in_its_dtype_with_float32_weights(self):
        model, reference = converted_and_reference(LlamaAttention(32, 4, 2), ratio=1.0)
        x = torch.randn(2, 10, 32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output, expected = model(x), reference(x)
            q = model.q_proj(x)
        self.assertEqual(output.dtype, torch.bfloat16)
        torch.testing.assert_close(output, expected, rtol=0, atol=0)
        self.assertEqual(pammcuda.saved_compression(q.grad_fn).stored_bytes, 20 * 32 * 2 + 20 * 5 + 4, "x is compressed in bfloat16")
        grad = torch.randn(2, 10, 32).to(torch.bfloat16)
        q.backward(grad)
        self.assertEqual(model.q_proj.weight.grad.dtype, torch.float32)
        # As autocast computes dW: from x and G in bfloat16, summed in float32, rounded once to bfloat16, then cast
        # to the float32 weight's dtype; so within half a bfloat16 ulp of the exact product of the rounded inputs.
        exact = grad.double().reshape(20, 32).T @ x.to(torch.bfloat16).double().reshape(20, 32)
        torch.testing.assert_close(model.q_proj.weight.grad.double(), exact, rtol=2 ** -8, atol=20 * 2 ** -23 * exact.abs().max().item())

    def test_inputs_of_any_rank(self):
        attention, reference = converted_and_reference(LlamaAttention(8, 2, 2), ratio=1.0)
        for shape in ((8,), (5, 8), (2, 3, 8), (2, 2, 3, 8)):
            with self.subTest(shape=shape):
                x = torch.randn(*shape)
                for module in (attention, reference):
                    module.zero_grad()
                output = attention.q_proj(x)
                expected = reference.q_proj(x)
                self.assertEqual(output.shape, expected.shape)
                torch.testing.assert_close(output, expected, rtol=0, atol=0)
                x_pamm, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
                grad = torch.randn(expected.shape)
                attention.q_proj(x_pamm).backward(grad)
                reference.q_proj(x_ref).backward(grad)
                terms = x.numel() // 8
                assert_sums_close(attention.q_proj.weight.grad, reference.q_proj.weight.grad, terms=terms)
                assert_sums_close(x_pamm.grad, x_ref.grad, terms=8)

    def test_an_empty_batch_behaves_as_nn_linear(self):
        attention, reference = converted_and_reference(LlamaAttention(8, 2, 2), ratio=0.5)
        x = torch.randn(0, 8)
        attention.q_proj(x).sum().backward()
        reference.q_proj(x).sum().backward()
        torch.testing.assert_close(attention.q_proj.weight.grad, reference.q_proj.weight.grad, rtol=0, atol=0)

    def test_frozen_weights_are_not_compressed_and_train_the_rest_exactly(self):
        model, reference = converted_and_reference(LlamaAttention(16, 2, 2), ratio=0.25)
        for module in (model, reference):
            module.q_proj.weight.requires_grad_(False)
        captured, _ = capture_compressions(model, ["q_proj", "k_proj", "v_proj"])
        x = torch.randn(2, 8, 16, requires_grad=True)
        x_ref = x.detach().clone().requires_grad_()
        before = live_compressed()
        output = model(x)
        self.assertEqual(live_compressed(), before + 1, "k_proj and v_proj share one compression")
        self.assertIsNone(captured["q_proj"])
        self.assertIs(captured["k_proj"], captured["v_proj"])
        grad = torch.randn_like(output)
        output.backward(grad)
        reference(x_ref).backward(grad)
        self.assertIsNone(model.q_proj.weight.grad)
        # The input gradient is exact whatever the compression.
        assert_sums_close(x.grad, x_ref.grad, terms=48)
        # A fully frozen model compresses nothing and still gives the input its exact gradient.
        model.requires_grad_(False)
        before = live_compressed()
        model(x).backward(grad)
        self.assertEqual(live_compressed(), before)

    def test_siblings_reading_other_tensors_compress_each_and_stay_exact(self):
        # Cross-attention: q_proj reads the decoder's states, k_proj and v_proj the encoder's.
        attention, reference = converted_and_reference(LlamaAttention(8, 2, 2), ratio=1.0)
        captured, _ = capture_compressions(attention, ["q_proj", "k_proj", "v_proj"])
        decoder, encoder = torch.randn(6, 8), torch.randn(9, 8)
        outputs = [attention.q_proj(decoder), attention.k_proj(encoder), attention.v_proj(encoder)]
        self.assertIsNot(captured["q_proj"], captured["k_proj"])
        self.assertIs(captured["k_proj"], captured["v_proj"])
        self.assertEqual((captured["q_proj"].rows, captured["k_proj"].rows), (6, 9))
        expected = [reference.q_proj(decoder), reference.k_proj(encoder), reference.v_proj(encoder)]
        assert_projection_gradients_match(attention, reference, outputs, expected, terms=9)

    def test_an_input_changed_in_place_is_compressed_again(self):
        attention, reference = converted_and_reference(LlamaAttention(8, 2, 2), ratio=1.0)
        captured, _ = capture_compressions(attention, ["q_proj", "k_proj"])
        x = torch.randn(5, 8)
        q = attention.q_proj(x)
        x.mul_(2.0)  # the same tensor object, a new version
        k = attention.k_proj(x)
        self.assertIsNot(captured["q_proj"], captured["k_proj"])
        grad = torch.randn(5, 8)
        q.backward(grad)
        k.backward(grad)
        torch.testing.assert_close(attention.k_proj.weight.grad, 2.0 * attention.q_proj.weight.grad, rtol=0, atol=0)

    def test_views_of_the_same_data_share_and_other_views_of_one_base_do_not(self):
        # The cache is keyed on data: another view object with x's shape, strides and offset holds x's values (tensor
        # parallelism hands each sibling such a view), but two slices of one base tensor hold different values.
        attention, reference = converted_and_reference(LlamaAttention(8, 2, 2), ratio=1.0)
        captured, _ = capture_compressions(attention, ["q_proj", "k_proj", "v_proj"])
        base = torch.randn(5, 24)
        x = base[:, :8]
        outputs = [attention.q_proj(x), attention.k_proj(x.view_as(x)), attention.v_proj(base[:, 8:16])]
        self.assertIs(captured["q_proj"], captured["k_proj"])
        self.assertIsNot(captured["q_proj"], captured["v_proj"])
        expected = [reference.q_proj(x), reference.k_proj(x), reference.v_proj(base[:, 8:16])]
        assert_projection_gradients_match(attention, reference, outputs, expected, terms=5)

    def test_a_view_whose_base_changed_in_place_is_compressed_again(self):
        attention, _ = converted_and_reference(LlamaAttention(8, 2, 2), ratio=1.0)
        captured, _ = capture_compressions(attention, ["q_proj", "k_proj"])
        base = torch.randn(5, 16)
        q = attention.q_proj(base[:, :8])
        base[:, :8].mul_(2.0)  # through another view: the base's version counter, shared by its views, moves
        k = attention.k_proj(base[:, :8])
        self.assertIsNot(captured["q_proj"], captured["k_proj"])
        grad = torch.randn(5, 8)
        q.backward(grad)
        k.backward(grad)
        torch.testing.assert_close(attention.k_proj.weight.grad, 2.0 * attention.q_proj.weight.grad, rtol=0, atol=0)

    def test_the_shared_cache_keeps_neither_input_nor_compression_alive(self):
        attention = pammcuda.convert(LlamaAttention(8, 2, 2), ratio=0.5)
        before = live_compressed()
        x = torch.randn(2, 6, 8)
        output = attention(x)
        x_ref = weakref.ref(x)
        output.sum().backward()
        del x, output
        gc.collect()
        self.assertIsNone(x_ref(), "the converted attention keeps its input alive")
        self.assertEqual(live_compressed(), before)

    def test_conv1d_gradient_has_its_in_by_out_layout(self):
        attention, reference = converted_and_reference(GPT2Attention(16, 2), ratio=1.0)
        x = torch.randn(2, 7, 16)
        output, expected = attention(x), reference(x)
        torch.testing.assert_close(output, expected, rtol=0, atol=0)
        grad = torch.randn_like(output)
        output.backward(grad)
        expected.backward(grad)
        self.assertEqual(attention.c_attn.weight.grad.shape, (16, 48))
        assert_sums_close(attention.c_attn.weight.grad, reference.c_attn.weight.grad, terms=14)
        assert_sums_close(attention.c_attn.bias.grad, reference.c_attn.bias.grad, terms=14)

    def test_activation_checkpointing_recomputes_and_stays_exact(self):
        # What model.gradient_checkpointing_enable() does in transformers: each decoder layer is checkpointed.
        from torch.utils.checkpoint import checkpoint

        def logits(model, batch, use_reentrant):
            hidden_states = model.embed_tokens(batch)
            for layer in model.layers:
                hidden_states = checkpoint(layer, hidden_states, use_reentrant=use_reentrant)
            return model.lm_head(model.norm(hidden_states))

        model, reference = converted_and_reference(TinyLlama(), ratio=1.0, mlp=True)
        batch = tokens()
        expected = torch.autograd.grad(reference(batch).square().mean(), list(reference.parameters()))
        # The reentrant variant runs the first forward without grad (nothing compressed until the recomputation);
        # the other one compresses in the forward and again when it recomputes.
        for use_reentrant, compressions in ((True, 0), (False, 4)):
            with self.subTest(use_reentrant=use_reentrant):
                before = live_compressed()
                output = logits(model, batch, use_reentrant).square().mean()
                self.assertEqual(live_compressed(), before + compressions)
                model.zero_grad(set_to_none=True)
                output.backward()  # reentrant checkpointing supports .backward() only, not autograd.grad
                for parameter, reference_gradient in zip(model.parameters(), expected):
                    assert_sums_close(parameter.grad, reference_gradient, terms=24, dtype=torch.float32)
                del output
                self.assertEqual(live_compressed(), before)

    def test_a_converted_llama_learns(self):
        # Memorising one fixed sequence: the loss must fall far with r = 1/4 on Q, K, V, gate and up.
        model = pammcuda.convert(TinyLlama(), ratio=0.25, mlp=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        batch = tokens(batch=4, length=16)
        losses = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = next_token_loss(model, batch)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"\ninfo: converted TinyLlama loss {losses[0]:.3f} -> {losses[-1]:.3f} in 30 Adam steps, r = 1/4")
        self.assertLess(losses[-1], 0.5 * losses[0])

    def test_copies_keep_their_own_shared_compressions(self):
        model = pammcuda.convert(TinyLlama(), ratio=0.5)
        for copied in (copy.deepcopy(model), torch.load(io.BytesIO(pickled(model)), weights_only=False)):
            attention = copied.layers[0].self_attn
            self.assertIs(attention.q_proj.pamm_compression, attention.k_proj.pamm_compression)
            self.assertIsNot(attention.q_proj.pamm_compression, model.layers[0].self_attn.q_proj.pamm_compression)
            self.assertEqual(pammcuda.conversions(copied), pammcuda.conversions(model))
            batch = tokens()
            torch.testing.assert_close(copied(batch), model(batch), rtol=0, atol=0)


def pickled(model):
    buffer = io.BytesIO()
    torch.save(model, buffer, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


@unittest.skipUnless(torch_at_least(2, 4), f"torch.compile tests need torch >= 2.4, this is {torch.__version__}")
class CompileTests(unittest.TestCase):
    """A compiled converted model runs (PAMM's projections are graph breaks) and trains as the eager one does."""

    def check_compiled(self, device, backend):
        torch.manual_seed(5)
        model, reference = converted_and_reference(TinyLlama().to(device), ratio=1.0, mlp=True)
        compiled = torch.compile(model, backend=backend)
        batch = tokens().to(device)
        loss = next_token_loss(compiled, batch)
        # The compiled module's parameters are model's (named with an _orig_mod. prefix there).
        gradients = dict(zip(dict(model.named_parameters()), torch.autograd.grad(loss, list(model.parameters()))))
        reference_loss, reference_gradients = loss_and_gradients(reference, batch)
        torch.testing.assert_close(loss, reference_loss, rtol=1e-5, atol=1e-6)
        for name, gradient in gradients.items():
            torch.testing.assert_close(gradient, reference_gradients[name], rtol=1e-4, atol=1e-5 * reference_gradients[name].abs().max().item(), msg=name)
        if backend == "aot_eager":
            # A no_grad pass recompiles every graph (grad mode is guarded): with Inductor that is a second set of C++
            # compiles, a third of the test's minute on the CPU, for what this cheaper backend shows as well.
            before = live_compressed()
            with torch.no_grad():
                compiled(batch)
            self.assertEqual(live_compressed(), before)

    def test_aot_eager_on_cpu(self):
        self.check_compiled("cpu", "aot_eager")

    def test_inductor_on_cpu(self):
        reason = inductor_skip_reason("cpu")
        if reason:
            self.skipTest(reason)
        self.check_compiled("cpu", "inductor")

    def test_inductor_on_cuda(self):
        reason = cuda_skip_reason() or inductor_skip_reason("cuda")
        if reason:
            self.skipTest(reason)
        self.check_compiled("cuda", "inductor")


def transformers_skip_reason():
    try:
        import transformers  # noqa: F401
    except ImportError as error:
        return f"transformers is not installed ({error})"
    return None


@unittest.skipIf(transformers_skip_reason() is not None, transformers_skip_reason())
class TransformersTests(unittest.TestCase):
    """Models built from a config (no download) on the GPU if there is one, else the CPU."""

    device = "cuda" if torch.cuda.is_available() else "cpu"

    def check_model(self, model, expected_groups, checkpointing=False):
        model.to(self.device).train()
        model, reference = converted_and_reference(model, ratio=1.0, mlp=True)
        if checkpointing:  # non-reentrant: the forward pass compresses as without checkpointing, then recomputes
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.assertEqual([(c.kind, c.names) for c in pammcuda.conversions(model)], expected_groups)
        batch = tokens(batch=2, length=16, vocabulary=model.config.vocab_size).to(self.device)
        before = live_compressed()
        output = model(batch, labels=batch)
        self.assertEqual(live_compressed(), before + len(expected_groups), "one compression per group")
        expected = reference(batch, labels=batch)
        torch.testing.assert_close(output.logits, expected.logits, rtol=0, atol=0)
        output.loss.backward()
        expected.loss.backward()
        parameters = dict(reference.named_parameters())
        for name, parameter in model.named_parameters():
            # 32 tokens per sum, twice: the exact input gradients' own rounding also reaches the earlier layers.
            assert_sums_close(parameter.grad, parameters[name].grad, terms=64, dtype=torch.float32)
        del output
        self.assertEqual(live_compressed(), before)

    # Two layers, grouped-query attention, no dropout, tokens 0-2 special (Phi-3 pads with one, inside the vocabulary).
    SIZES = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=64, attention_dropout=0.0, use_cache=False,
                 pad_token_id=0, bos_token_id=1, eos_token_id=2)

    def llama_style(self, model_class, config_class, **extra):
        """A q/k/v_proj and gate/up_proj model of transformers built from a config, and its expected groups."""
        import transformers
        config = getattr(transformers, config_class)(**self.SIZES, **extra)
        torch.manual_seed(6)
        groups = []
        for layer in (f"model.layers.{i}" for i in range(2)):
            groups.append(("attention", tuple(f"{layer}.self_attn.{p}" for p in ("q_proj", "k_proj", "v_proj"))))
            groups.append(("mlp", (f"{layer}.mlp.gate_proj", f"{layer}.mlp.up_proj")))
        return getattr(transformers, model_class)(config), groups

    def llama(self):
        return self.llama_style("LlamaForCausalLM", "LlamaConfig")

    def test_llama_for_causal_lm(self):
        self.check_model(*self.llama())

    def test_llama_with_gradient_checkpointing(self):
        self.check_model(*self.llama(), checkpointing=True)

    @unittest.skipUnless(torch_at_least(2, 4), f"torch.compile tests need torch >= 2.4, this is {torch.__version__}")
    def test_compiled_llama_gives_the_eager_gradients(self):
        # Dynamo traces transformers' own attention and MLP code around the converted projections (each a graph break),
        # so the shared compression keyed on the input must survive the split into graphs. aot_eager: Inductor's code
        # generation is tested on the local models (CompileTests), and on a CPU it would take the most of this test.
        import torch._dynamo
        torch._dynamo.reset()
        model, _ = self.llama()
        model, reference = converted_and_reference(model.to(self.device).train(), ratio=1.0, mlp=True)
        compiled = torch.compile(model, backend="aot_eager")
        batch = tokens(batch=2, length=16, vocabulary=model.config.vocab_size).to(self.device)
        loss = compiled(batch, labels=batch).loss
        gradients = torch.autograd.grad(loss, list(model.parameters()))
        reference_loss = reference(batch, labels=batch).loss
        reference_gradients = torch.autograd.grad(reference_loss, list(reference.parameters()))
        torch.testing.assert_close(loss, reference_loss, rtol=1e-5, atol=1e-6)
        for name, gradient, expected in zip(dict(model.named_parameters()), gradients, reference_gradients):
            assert_sums_close(gradient, expected, terms=64, dtype=torch.float32, msg=name)

    def test_mistral(self):
        self.check_model(*self.llama_style("MistralForCausalLM", "MistralConfig"))

    def test_qwen2_with_biased_qkv_projections(self):
        model, groups = self.llama_style("Qwen2ForCausalLM", "Qwen2Config")
        self.assertIsNotNone(model.model.layers[0].self_attn.q_proj.bias)
        self.check_model(model, groups)

    def test_phi3_fused_qkv_and_gate_up_projections(self):
        from transformers import Phi3Config, Phi3ForCausalLM
        torch.manual_seed(8)
        model = Phi3ForCausalLM(Phi3Config(**self.SIZES))
        self.check_model(model, [group for i in range(2) for group in (
            ("fused-qkv", (f"model.layers.{i}.self_attn.qkv_proj",)), ("fused-mlp", (f"model.layers.{i}.mlp.gate_up_proj",)))])

    def test_gpt_neox_query_key_value(self):
        from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
        torch.manual_seed(9)
        config = GPTNeoXConfig(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                               num_attention_heads=4, max_position_embeddings=64, use_cache=False, bos_token_id=1,
                               eos_token_id=2)
        self.check_model(GPTNeoXForCausalLM(config),
                         [("fused-qkv", (f"gpt_neox.layers.{i}.attention.query_key_value",)) for i in range(2)])

    def test_gpt2_conv1d_c_attn(self):
        from transformers import GPT2Config, GPT2LMHeadModel
        # No dropout: the converted model draws its sampling seeds from torch's generator, the reference does not.
        config = GPT2Config(vocab_size=128, n_embd=64, n_layer=2, n_head=4, n_positions=64, resid_pdrop=0.0,
                            embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
        torch.manual_seed(7)
        self.check_model(GPT2LMHeadModel(config), [("fused-qkv", (f"transformer.h.{i}.attn.c_attn",)) for i in range(2)])


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaConvertTests(unittest.TestCase):
    def check(self, dtype, autocast_dtype=None):
        torch.manual_seed(8)
        model, reference = converted_and_reference(TinyLlama(hidden=64, heads=4, kv_heads=2).to("cuda", dtype), ratio=1.0, mlp=True)
        batch = tokens(batch=4, length=32).cuda()
        with torch.autocast("cuda", dtype=autocast_dtype or torch.float16, enabled=autocast_dtype is not None):
            loss, gradients = loss_and_gradients(model, batch)
            reference_loss, reference_gradients = loss_and_gradients(reference, batch)
        self.assertEqual(loss.item(), reference_loss.item())
        for name, gradient in gradients.items():
            self.assertEqual(gradient.dtype, dtype)
            assert_sums_close(gradient, reference_gradients[name], terms=124, dtype=autocast_dtype or dtype)

    def test_float16_weights(self):
        self.check(torch.float16)

    def test_bfloat16_weights(self):
        self.check(torch.bfloat16)

    def test_autocast_float16(self):
        self.check(torch.float32, autocast_dtype=torch.float16)

    def test_autocast_bfloat16(self):
        self.check(torch.float32, autocast_dtype=torch.bfloat16)


if __name__ == "__main__":
    unittest.main()
