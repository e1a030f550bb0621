"""
pammcuda.convert: PAMM for an existing model without changing its code.

Sibling projections that read one input (a Hugging Face attention's q_proj, k_proj and v_proj; optionally an MLP's
gate_proj and up_proj) are given one shared compression of that input; a fused Q/K/V projection (qkv_proj, Wqkv,
c_attn, query_key_value), and optionally a fused gate/up projection (gate_up_proj), gets its own. Every other module is
left alone.

A converted module stays the object it was, with its class swapped for a subclass (as torch.nn.utils.parametrize
does): the same parameters, state_dict keys, hooks and device, and isinstance(module, nn.Linear) still holds. Its
forward output is the original's, exactly; when it trains its weight, the graph keeps a PAMM summary of the input
instead of the input. Siblings share that summary through a cache keyed on the input's data: the first sibling to
see x compresses it, the others find the compression of the same data (x itself, or a view of the same tensor with
the same shape, strides and offset, at the same version counter: tensor parallelism hands each sibling a view of its
own) and reuse it. The cache holds weak references only, so it keeps neither x nor the summary alive; whether inputs
are really shared is checked at every call, so a grouping that does not hold (cross-attention, where k_proj and v_proj
read the encoder's states) only costs a second compression, never a wrong gradient.

Under tensor parallelism a converted projection takes ColwiseParallel's layout (pammcuda._tensor_parallel): each
rank compresses the replicated input and computes its shard of the output and of the weight gradient.
"""

import dataclasses
import functools
import math
import warnings
import weakref

import torch

from . import _compat, _tensor_parallel, autograd, backend
from .modules import _has_rows, _Sampling, check_options

ATTENTION = ("q_proj", "k_proj", "v_proj")
"""Sibling projections of the attention input (Llama, Mistral, Qwen, Gemma, ... in transformers)."""

MLP = ("gate_proj", "up_proj")
"""Sibling projections of a gated MLP's input (converted with mlp=True)."""

FUSED_QKV = ("qkv_proj", "Wqkv", "c_attn", "query_key_value")
"""Names of a fused Q/K/V projection (Phi-3, MPT, GPT-2's Conv1D, GPT-NeoX and Falcon)."""

FUSED_MLP = ("gate_up_proj",)
"""Name of a gated MLP's fused gate/up projection (Phi-3; converted with mlp=True)."""


class _DataKey:
    """
    Which data a tensor holds, without keeping it alive: its base tensor (weakly), its view's shape, strides and offset,
    and the version counter, which a view shares with its base. Two tensors with the same key hold the same values.
    """

    def __init__(self, tensor):
        base = tensor if tensor._base is None else tensor._base
        self._base = weakref.ref(base)
        self._view = (tensor.shape, tensor.stride(), tensor.storage_offset(), tensor.dtype)
        self._version = tensor._version

    def holds(self, tensor):
        base = tensor if tensor._base is None else tensor._base
        return (self._base() is base and self._version == tensor._version
                and self._view == (tensor.shape, tensor.stride(), tensor.storage_offset(), tensor.dtype))


class SharedCompression:
    """
    The PAMM compression that a group of sibling projections shares: made by the first projection that trains its
    weight on an input tensor, reused by the others while the tensor is the same object at the same version and
    the compression is still alive (its graph nodes own it; this object refers to it weakly).
    """

    def __init__(self, kind, sampling):
        self.kind = kind
        self.sampling = sampling
        self._entry = None  # (_DataKey of the input, compressed dtype, weakref to the Compressed)

    def compressed(self, key, x):
        """
        The compression of x (`key` itself or autocast's cast of it), from the cache when a sibling made it already.
        A new compression draws its options (a fresh seed with seed=None) from this group's sampling.
        """
        entry = self._entry  # read once: a replica in another thread (nn.DataParallel) may replace it meanwhile
        if entry is not None:
            data, dtype, compressed_ref = entry
            if dtype == x.dtype and data.holds(key):
                compressed = compressed_ref()
                if compressed is not None:
                    return compressed
        compressed = backend.compress(autograd._rows(x), self.sampling.next_options())
        self._entry = (_DataKey(key), x.dtype, weakref.ref(compressed))
        return compressed

    def __getstate__(self):
        # Weak references do not pickle, and a cached compression is only meaningful within the step that made it.
        return {**self.__dict__, "_entry": None}

    def __repr__(self):
        return f"SharedCompression({self.kind}, {self.sampling})"


@_compat.compile_disable
def _pamm_projection(module, x):
    """The converted module's forward pass when it trains its weight; a graph break for torch.compile."""
    if x.layout != torch.strided:
        raise ValueError(f"input of {type(module).__name__} is a {x.layout} tensor; PAMM compresses dense "
                         f"(torch.strided) inputs")
    project = functools.partial(_project_local, module)
    if _compat.is_dtensor(x) or _compat.is_dtensor(module.weight):
        return _tensor_parallel.colwise_projection(module, x, project)
    return project(x, module.weight, module.bias)


def _project_local(module, x, weight, bias):
    """PammProjectionFunction on plain tensors, x compressed by (or shared through) the module's group."""
    compress = functools.partial(module.pamm_compression.compressed, x)
    return _compat.call_as_autocast_linear(autograd.PammProjectionFunction.apply, x, weight, bias, compress,
                                           module.pamm_transposed_weight)


class _PammProjection:
    """
    The forward pass of a converted projection, mixed in before the original class. Without a weight gradient to
    compute (no_grad, inference_mode, a frozen weight, an empty batch, or a meta tensor, which has no data to
    summarise: shape inference, deferred initialisation) it is the original forward, unchanged.
    """

    pamm_transposed_weight = False  # True for transformers' Conv1D, whose weight is [in, out]

    def forward(self, input):
        if torch.is_grad_enabled() and self.weight.requires_grad and _has_rows(input):
            return _pamm_projection(self, input)
        return super().forward(input)

    def extra_repr(self):
        return f"{super().extra_repr()}, pamm={self.pamm_compression}"


class PammSharedLinear(_PammProjection, torch.nn.Linear):
    """An nn.Linear converted by pammcuda.convert: trains its weight from a (shared) PAMM compression of its input."""


_converted_classes = {torch.nn.Linear: PammSharedLinear}


def _converted_class(cls):
    """The class a module of class `cls` is switched to: PammSharedLinear, or a subclass of a Conv1D made once."""
    converted = _converted_classes.get(cls)
    if converted is None:
        converted = type(f"Pamm{cls.__name__}", (_PammProjection, cls),
                         {"__module__": __name__, "pamm_transposed_weight": True,
                          "__doc__": f"A {cls.__name__} (weight [in, out]) converted by pammcuda.convert."})
        _converted_classes[cls] = converted
    return converted


def _is_conv1d(module):
    """transformers' Conv1D (GPT-2): y = x W + b with W [in, out], recognised by its name, `nf` and weight shape."""
    weight = getattr(module, "weight", None)
    return (type(module).__name__ == "Conv1D" and isinstance(weight, torch.Tensor) and weight.dim() == 2
            and weight.shape[1] == getattr(module, "nf", None))


def is_converted(module):
    """Whether `module` is a projection converted by pammcuda.convert."""
    return isinstance(module, _PammProjection)


def _not_convertible(module):
    """Why `module` cannot be converted, or None when it can."""
    if type(module) is not torch.nn.Linear and not _is_conv1d(module):
        return (f"is a {type(module).__module__}.{type(module).__qualname__}, not an nn.Linear or transformers' Conv1D "
                f"(a subclass may compute more than x W^T + b)")
    if module.weight.dtype not in backend.SUPPORTED_DTYPES:
        return f"has {module.weight.dtype} weights; PAMM takes float32, float16 or bfloat16"
    return None


@dataclasses.dataclass(frozen=True)
class Conversion:
    """One group of converted projections: `names` (qualified, as in named_modules) share one compression."""

    kind: str
    names: tuple
    sampling: str


def _candidate_groups(model, attention, fused, mlp):
    """(kind, [(qualified name, module), ...]) for every group of sibling projections `model` contains."""
    for parent_name, parent in model.named_modules():
        children = dict(parent.named_children())
        prefix = f"{parent_name}." if parent_name else ""
        for kind, names, wanted in (("attention", ATTENTION, attention), ("mlp", MLP, mlp)):
            if wanted and all(name in children for name in names):
                yield kind, [(prefix + name, children[name]) for name in names]
        for kind, names, wanted in (("fused-qkv", FUSED_QKV, fused), ("fused-mlp", FUSED_MLP, fused and mlp)):
            if wanted:
                yield from ((kind, [(prefix + name, children[name])]) for name in names if name in children)


def convert(model, ratio=1.0 / 512.0, *, k=0, epsilon=math.inf, seed=None, alpha_dtype=torch.float32, refine_generators=False,
            attention=True, fused=True, mlp=False):
    """
    Converts `model`'s attention projections in place to PAMM, and returns it.

    attention: q_proj, k_proj and v_proj of one parent share one compression of their input.
    fused: a fused Q/K/V projection (qkv_proj, Wqkv, c_attn, query_key_value) compresses its own input.
    mlp: gate_proj and up_proj of one parent share one compression, and with fused a fused gate_up_proj compresses its
    own input (off by default; the paper compresses Q/K/V).
    ratio, k, epsilon, seed, alpha_dtype, refine_generators: the compression options, as for PammLinear (seed=None: a fresh
    seed at every pass).

    Only modules whose class is exactly nn.Linear, or transformers' Conv1D, are converted: a subclass (a LoRA or
    quantized layer, say) is left alone with a warning, as are weights of a dtype PAMM does not take. Modules that
    are already converted are skipped, so converting twice changes nothing. pammcuda.conversions(model) lists
    what was converted; pammcuda.unconvert(model) restores the original classes.
    """
    check_options(ratio, k, epsilon, seed, alpha_dtype, refine_generators)
    converted_any = False
    for kind, members in _candidate_groups(model, attention, fused, mlp):
        members = [(name, module) for name, module in members if not is_converted(module)]
        convertible = []
        for name, module in members:
            reason = _not_convertible(module)
            if reason is None:
                convertible.append(module)
            else:
                warnings.warn(f"pammcuda.convert leaves {name} alone: it {reason}", stacklevel=2)
        if not convertible:
            continue
        shared = SharedCompression(kind, _Sampling(ratio, k, epsilon, seed, alpha_dtype, refine_generators))
        for module in convertible:
            module.pamm_compression = shared
            module.__class__ = _converted_class(type(module))
        converted_any = True
    if not converted_any and not any(is_converted(module) for module in model.modules()):
        warnings.warn(f"pammcuda.convert found no projection to convert in {type(model).__name__} (names it looks "
                      f"for: {', '.join(ATTENTION + FUSED_QKV + (MLP + FUSED_MLP) * mlp)})", stacklevel=2)
    return model


def conversions(model):
    """The groups of converted projections in `model`, in module order, as Conversion records."""
    groups = {}
    for name, module in model.named_modules():
        if is_converted(module):
            shared = module.pamm_compression
            groups.setdefault(id(shared), (shared, []))[1].append(name)
    return [Conversion(shared.kind, tuple(names), str(shared.sampling)) for shared, names in groups.values()]


def unconvert(model):
    """Restores every converted projection in `model` to its original class (exact gradients again); returns it."""
    for module in model.modules():
        if is_converted(module):
            module.__class__ = next(base for base in type(module).__mro__[1:] if not issubclass(base, _PammProjection))
            del module.pamm_compression
    return model
