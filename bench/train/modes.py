"""
The training modes compared, and the model configurations.

A mode is written `name` or `name:key=value[:key=value]` on the command line, e.g. `pamm`, `pamm:r=1/128`,
`pamm:k=64`, `crs:k=8`, `pamm:k=64:eps=0.5`, `pamm:alpha=bf16`, `pamm:fused`, `pamm:overlap`, `pamm:refine`: the options
change PAMM's ratio r, generator count k, tolerance ε or the storage of its coefficients α (f32 or bf16) for that run; `fused`
makes the Q/K/V layers compute the projection and the compression in one GEMM on CUDA (PammQKV's fused_projection);
`overlap` runs each compression on a second CUDA stream beside its layer's GEMMs (overlap_compression: the same values); `refine`
refines the generators after the assignment (refine_generators, beyond the paper's PAMM: the same bytes kept, a
smaller gradient error, two more reads of the input in the forward pass).
`pamm-all:layers=down` or `pamm-all:layers=out+gate_up` puts PAMM on Q/K/V and only the named ones of the other
layers (out, gate_up, down; all three by default), to see which of them costs what.
"""

import dataclasses
import fractions
import math

import pammcuda
import torch

from model import DenseQKV, Layers, Llama, ModelConfig

DESCRIPTIONS = {
    "dense": "plain nn.Linear everywhere: every linear layer keeps its input",
    "pamm": "pammcuda.PammQKV on every attention block: Q, K and V keep one PAMM summary of their input",
    "crs": "PammQKV with ε = 0, i.e. uniform column-row sampling with b/k scaling (the paper's ablation)",
    "checkpoint": "dense layers, each block recomputed in backward (torch.utils.checkpoint)",
    "pamm-all": "PAMM on every linear layer of a block: Q/K/V share one summary, gate/up one, O and down one each",
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A model and its step: tokens per step = batch × context, the paper's knobs."""

    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    context: int
    tokens_per_step: int
    lr: float

    def model(self, vocab_size):
        return ModelConfig(vocab_size, self.d_model, self.n_layers, self.n_heads, self.d_ff, self.context)

    @property
    def batch(self):
        return self.tokens_per_step // self.context


# The linear layers of a block besides Q/K/V, by their names in model.Layers: what pamm-all puts PAMM on.
OTHER_LAYERS = ("out", "gate_up", "down")


# Shapes of the LLaMA configs the paper trains (GaLore's llama_20m/60m/130m); the parameter count depends on the
# vocabulary (256 with byte tokens, against 32 000 in the paper). tiny is for CPUs and CI: about 1M parameters.
CONFIGS = {
    "tiny": TrainConfig(d_model=128, n_layers=4, n_heads=4, d_ff=352, context=256, tokens_per_step=4096, lr=3e-3),
    "llama-20m": TrainConfig(d_model=256, n_layers=4, n_heads=4, d_ff=688, context=256, tokens_per_step=16384, lr=2e-3),
    "llama-60m": TrainConfig(d_model=512, n_layers=8, n_heads=8, d_ff=1376, context=256, tokens_per_step=65536, lr=1e-3),
    "llama-130m": TrainConfig(d_model=768, n_layers=12, n_heads=12, d_ff=2048, context=256, tokens_per_step=65536, lr=1e-3),
}


@dataclasses.dataclass(frozen=True)
class Mode:
    """One run's mode: its kind and PAMM's options (ratio or k, ε) where it uses PAMM."""

    kind: str
    ratio: float = 1.0 / 512
    k: int = 0
    epsilon: float = math.inf
    alpha_dtype: torch.dtype = torch.float32
    fused_projection: bool = False
    refine_generators: bool = False
    overlap_compression: bool = False
    label: str = ""
    other_layers: tuple = OTHER_LAYERS  # pamm-all only: which of OTHER_LAYERS use PAMM

    @property
    def uses_pamm(self):
        return self.kind in ("pamm", "crs", "pamm-all")

    def pamm_options(self):
        return dict(ratio=self.ratio, k=self.k, epsilon=0.0 if self.kind == "crs" else self.epsilon, alpha_dtype=self.alpha_dtype,
                    refine_generators=self.refine_generators)

    def reported_options(self):
        """pamm_options() as a report can hold them: α's dtype by its name in a mode (f32, bf16)."""
        options = self.pamm_options()
        options["alpha_dtype"] = next(name for name, dtype in ALPHA_DTYPES.items() if dtype == self.alpha_dtype)
        options["fused_projection"] = self.fused_projection
        options["overlap_compression"] = self.overlap_compression
        if self.kind == "pamm-all":
            options["layers"] = list(self.other_layers)
        return options

    def build(self, model_config):
        """The model of this mode; parameter names are the same in every mode."""
        if self.kind in ("dense", "checkpoint"):
            return Llama(model_config, Layers(), checkpoint_blocks=self.kind == "checkpoint")
        options = dict(self.pamm_options(), overlap_compression=self.overlap_compression)
        qkv = lambda d_in, d_out: pammcuda.PammQKV(d_in, d_out, bias=False, fused_projection=self.fused_projection, **options)
        if self.kind == "pamm-all":
            linear = lambda d_in, d_out: pammcuda.PammLinear(d_in, d_out, bias=False, **options)
            return Llama(model_config, Layers(qkv=qkv, **{name: linear for name in self.other_layers}))
        return Llama(model_config, Layers(qkv=qkv))


# How PAMM may store its coefficients α (pammcuda's alpha_dtype).
ALPHA_DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def parse_mode(text, default_ratio=1.0 / 512, default_k=0, default_epsilon=math.inf):
    """`pamm:r=1/128:eps=0.5` -> Mode; the defaults come from --ratio/--k/--epsilon."""
    kind, _, options = text.strip().partition(":")
    if kind not in DESCRIPTIONS:
        raise ValueError(f"unknown mode '{kind}' in --modes; the modes are {', '.join(DESCRIPTIONS)}")
    ratio, k, epsilon, alpha_dtype, fused, refine, overlap = default_ratio, default_k, default_epsilon, torch.float32, False, False, False
    other_layers = OTHER_LAYERS
    for option in filter(None, options.split(":")):
        key, _, value = option.partition("=")
        if key == "fused" and not value:
            fused = True
        elif key == "refine" and not value:
            refine = True
        elif key == "overlap" and not value:
            overlap = True
        elif key == "layers":
            other_layers = parse_other_layers(value, text, kind)
        elif key in ("r", "ratio"):
            ratio, k = parse_ratio(value), 0
        elif key == "k":
            k = int(value)
        elif key in ("eps", "epsilon"):
            if kind == "crs":
                raise ValueError(f"eps= in mode '{text}': crs is PAMM at ε = 0 (Uniform-CRS); use pamm:eps= for another ε")
            epsilon = float(value)
        elif key == "alpha":
            if value not in ALPHA_DTYPES:
                raise ValueError(f"alpha={value} in mode '{text}': α is stored as {' or '.join(ALPHA_DTYPES)}")
            alpha_dtype = ALPHA_DTYPES[value]
        else:
            raise ValueError(f"unknown option '{option}' in mode '{text}' (use r=, k=, eps=, alpha=, fused, overlap, refine or, for pamm-all, layers=)")
    if options and kind in ("dense", "checkpoint"):
        raise ValueError(f"mode '{kind}' takes no PAMM options: '{text}'")
    return Mode(kind, ratio, k, epsilon, alpha_dtype, fused, refine, overlap, label=text.strip(), other_layers=other_layers)


def parse_other_layers(value, text, kind):
    """'down' or 'out+gate_up' -> the named layers in OTHER_LAYERS' order; only pamm-all has the option."""
    if kind != "pamm-all":
        raise ValueError(f"layers= in mode '{text}' is pamm-all's option (Q/K/V plus the layers named)")
    names = value.split("+")
    unknown = [name for name in names if name not in OTHER_LAYERS]
    if not value or unknown:
        raise ValueError(f"layers={value} in mode '{text}': name one or more of {', '.join(OTHER_LAYERS)}, joined by +")
    return tuple(name for name in OTHER_LAYERS if name in names)


def parse_ratio(text):
    """'1/512' or '0.002' -> float in (0, 1]."""
    value = float(fractions.Fraction(text))
    if not 0 < value <= 1:
        raise ValueError(f"ratio {text} is outside (0, 1]")
    return value


def pamm_modules(model):
    """(name, module) of every PAMM layer in the model: what gradient probes compare against exact gradients."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (pammcuda.PammQKV, pammcuda.PammLinear))]


def kept_input_modules(model):
    """Every module whose input the Q/K/V accounting counts: the DenseQKV or PammQKV of each block."""
    return [m for m in model.modules() if isinstance(m, (DenseQKV, pammcuda.PammQKV))]


__all__ = ["CONFIGS", "DESCRIPTIONS", "Mode", "OTHER_LAYERS", "TrainConfig", "kept_input_modules", "pamm_modules", "parse_mode",
           "parse_ratio"]
