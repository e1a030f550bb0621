"""nn.Modules that train their weights with PAMM gradients."""

import dataclasses
import math

import torch

from . import _compat, autograd, backend


def check_flag(name, value):
    """A layer's on/off option: True or False, refused by name otherwise (a truthy string would silently turn it on)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_options(ratio, k, epsilon, seed, alpha_dtype, refine_generators=False):
    """The options' own checks, when a layer is built or a model converted rather than at the first training step."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0 (0: from ratio), got {k!r}")
    if not epsilon >= 0.0:  # also rejects NaN
        raise ValueError(f"epsilon must be >= 0 (inf keeps every row), got {epsilon}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 64):
        raise ValueError(f"seed must be None (fresh per pass) or an int in [0, 2^64), got {seed!r}")
    if alpha_dtype not in (torch.float32, torch.bfloat16):
        raise ValueError(f"alpha_dtype must be torch.float32 or torch.bfloat16, got {alpha_dtype!r}")
    check_flag("refine_generators", refine_generators)


class _Sampling:
    """
    The options a layer compresses with at each forward pass. With seed=None (the default) every pass samples with a
    fresh seed drawn from torch's default generator, so each training step summarises its batch by other rows while
    torch.manual_seed keeps a run reproducible; a given seed samples with that seed at every pass.
    """

    def __init__(self, ratio, k, epsilon, seed, alpha_dtype=torch.float32, refine_generators=False):
        check_options(ratio, k, epsilon, seed, alpha_dtype, refine_generators)
        self.resample = seed is None
        self.options = backend.PammOptions(ratio=ratio, k=k, epsilon=epsilon, seed=0 if seed is None else seed,
                                           alpha_dtype=alpha_dtype, refine_generators=refine_generators)

    def next_seed(self):
        """
        The seed of the next pass as a 0-d int64 CPU tensor (what the pammcuda ops take, so that a compiled graph draws
        it too): from torch's default generator with seed=None, else the fixed seed.
        """
        if self.resample:
            return torch.randint(0, 2**62, (), dtype=torch.int64)
        # A seed in [2^63, 2^64) travels as the int64 of the same bits; the ops read it back as unsigned.
        seed = self.options.seed
        return torch.tensor(seed - 2**64 if seed >= 2**63 else seed, dtype=torch.int64)

    def next_options(self):
        """The options of the next pass, for code that calls backend.compress (pammcuda.convert's shared compressions)."""
        if not self.resample:
            return self.options
        return dataclasses.replace(self.options, seed=int(self.next_seed()))

    def __repr__(self):
        if self.resample:
            return (f"ratio={self.options.ratio}, k={self.options.k}, epsilon={self.options.epsilon}, seed=fresh per pass, "
                    f"alpha_dtype={self.options.alpha_dtype}, refine_generators={self.options.refine_generators}")
        return repr(self.options)


# The layers' autograd functions call the pammcuda ops, which torch.compile traces on torch >= 2.4 (one graph break
# per layer before). Under torch.autocast they run in autocast's dtype, as nn.Linear does, and compress their input in
# that dtype.
@_compat.compile_disable_unless_traceable
def _pamm_linear(layer, x):
    return _compat.call_as_autocast_linear(autograd.PammLinearFunction.apply, x, layer.weight, layer.bias,
                                           layer.sampling.options, layer.sampling.next_seed(), layer.overlap_compression)


@_compat.compile_disable_unless_traceable
def _pamm_qkv(qkv, x):
    layers = (qkv.q, qkv.k, qkv.v)
    weights = [layer.weight for layer in layers]
    biases = [layer.bias for layer in layers]
    for name, weight in zip(("q.weight", "k.weight", "v.weight"), weights):
        # Tensor parallelism shards the weights of q, k and v, whose own forward (with the plan's input hooks) never
        # runs: named here rather than left to a mixed Tensor and DTensor product.
        backend.check_not_dtensor(weight, name)
    return _compat.call_as_autocast_linear(autograd.PammQKVFunction.apply, x, *weights, *biases,
                                           qkv.sampling.options, qkv.sampling.next_seed(), qkv.fused_projection,
                                           qkv.overlap_compression)


def _has_rows(x):
    """
    Whether x has data to summarise: an empty batch (its weight gradient is exactly zero, as nn.Linear's) or a meta
    tensor (shape inference, deferred initialisation) takes the plain forward.
    """
    return x.numel() > 0 and not x.is_meta


class PammLinear(torch.nn.Linear):
    """
    nn.Linear whose backward keeps only a PAMM summary of its input (ratio or k generators per batch)
    instead of the input: the forward output and the input gradient are exact, the weight gradient approximate.
    With ratio=1 the weight gradient is the exact one. seed=None samples other rows at every forward pass (seeds drawn
    from torch's default generator); an integer seed samples the same rows of a same-shaped batch at every pass.
    alpha_dtype=torch.bfloat16 stores the coefficients in 2 bytes a row instead of 4. refine_generators=True goes beyond
    the paper's PAMM: each generator is turned to the alpha-weighted sum of its rows (at its own norm) and alpha fitted to
    it again, which lowers the weight gradient's error for two more reads of x in the forward pass; what is kept is the same.
    overlap_compression=True compresses x on CUDA on a second stream beside the layer's GEMM (as PammQKV's).
    """

    def __init__(self, in_features, out_features, bias=True, *, ratio=1.0 / 512.0, k=0, epsilon=math.inf, seed=None,
                 alpha_dtype=torch.float32, refine_generators=False, overlap_compression=False, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.sampling = _Sampling(ratio, k, epsilon, seed, alpha_dtype, refine_generators)
        check_flag("overlap_compression", overlap_compression)
        self.overlap_compression = overlap_compression

    def forward(self, x):
        if not (torch.is_grad_enabled() and self.weight.requires_grad and _has_rows(x)):
            return super().forward(x)
        return _pamm_linear(self, x)

    def extra_repr(self):
        overlap = ", overlap_compression=True" if self.overlap_compression else ""
        return f"{super().extra_repr()}, {self.sampling}{overlap}"


class PammQKV(torch.nn.Module):
    """
    The Q, K and V projections of attention, d_model -> (q, k, v), with one PAMM compression of the
    shared input for the three weight gradients. seed, alpha_dtype and refine_generators as for PammLinear.

    fused_projection=True computes, on CUDA without bias, q, k, v and the compression's similarities in ONE GEMM of x
    with [Wq; Wk; Wv; C] (pammcuda.project_and_compress), so x is read once. Its GEMM writes float32 (the similarities
    must be the plain compression's), so it stages b x (d_q + d_k + d_v + k) floats in a transient workspace and rounds
    the projection from there: more memory traffic than it saves while k is below about the GPU's FLOP-to-byte ratio,
    and a transient that can raise the step's peak memory. Off by default: three linears and a compression, whose
    similarity GEMM reads x once more.

    overlap_compression=True runs that compression, on CUDA, on a second stream beside the three linears' GEMMs: it reads
    only x, so it needs nothing they write. The second stream waits for the current one before it starts and the current
    one for it before forward returns, both on the device (the host never waits), so the values are the same as without
    it. On the CPU, under torch.compile and where the one-GEMM path is taken, it changes nothing. Off by default until
    a GPU has measured what it saves.
    """

    def __init__(self, d_model, d_q, d_k=None, d_v=None, bias=True, *, ratio=1.0 / 512.0, k=0, epsilon=math.inf,
                 seed=None, alpha_dtype=torch.float32, refine_generators=False, fused_projection=False,
                 overlap_compression=False, device=None, dtype=None):
        super().__init__()
        sizes = (d_q, d_k or d_q, d_v or d_q)
        self.q, self.k, self.v = (torch.nn.Linear(d_model, size, bias, device=device, dtype=dtype) for size in sizes)
        self.sampling = _Sampling(ratio, k, epsilon, seed, alpha_dtype, refine_generators)
        check_flag("fused_projection", fused_projection)
        check_flag("overlap_compression", overlap_compression)
        self.fused_projection = fused_projection
        self.overlap_compression = overlap_compression

    def forward(self, x):
        layers = (self.q, self.k, self.v)
        if not (torch.is_grad_enabled() and any(layer.weight.requires_grad for layer in layers) and _has_rows(x)):
            return tuple(layer(x) for layer in layers)
        return _pamm_qkv(self, x)

    def extra_repr(self):
        flags = [f"{name}=True" for name in ("fused_projection", "overlap_compression") if getattr(self, name)]
        return ", ".join([str(self.sampling), *flags])
