"""
A LLaMA-style decoder: RMSNorm, rotary position embeddings, causal multi-head attention and a SwiGLU MLP.

Which linear layers keep their input for the backward pass is the training mode's choice: the model takes a
`Layers` factory for its Q/K/V projections and its other linear layers, and every factory builds modules with
the same parameter names (`attn.qkv.{q,k,v}.weight`, `attn.out.weight`, `mlp.gate_up.weight`,
`mlp.down.weight`), so one initial state dict serves every mode.
"""

import dataclasses
import math

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    context: int

    def __post_init__(self):
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"d_model {self.d_model} must split into {self.n_heads} heads of even size")


class RMSNorm(nn.Module):
    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))

    def forward(self, x):
        # Normalised in float32 whatever autocast does, as LLaMA does: bf16 squares lose too much.
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class RotaryEmbedding(nn.Module):
    """cos/sin tables for positions 0..context-1, applied to (batch, heads, positions, head_dim) tensors."""

    def __init__(self, head_dim, context, base=10000.0):
        super().__init__()
        inverse_frequency = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(context, dtype=torch.float32), inverse_frequency)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x):
        positions = x.shape[-2]
        cos, sin = self.cos[:positions].to(x.dtype), self.sin[:positions].to(x.dtype)
        even, odd = x[..., 0::2], x[..., 1::2]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


def causal_attention(q, k, v):
    """softmax(q kᵀ / √d + causal mask) v; PyTorch's fused kernel where the installed torch has one."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return written_out_causal_attention(q, k, v)


def written_out_causal_attention(q, k, v):
    """causal_attention for a torch without scaled_dot_product_attention (Debian 12's 1.13)."""
    positions = q.shape[-2]
    # Scaling q rather than the scores touches head_dim instead of positions values per query: a tenth of the work.
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1)
    # Adding 0 or -inf gives what masked_fill(future, -inf) gives, bit for bit, and so does the backward pass (the
    # softmax's gradient is exactly 0 where its output is); but torch 1.13's masked_fill with a broadcast mask is slow on
    # the CPU (15 ms against 3 for this add, per layer and pass, at the tiny config's 16 × 4 × 256 × 256 scores).
    future = torch.full((positions, positions), float("-inf"), dtype=scores.dtype, device=scores.device).triu(1)
    return (scores + future).softmax(-1).to(v.dtype) @ v


class DenseQKV(nn.Module):
    """Three nn.Linear projections of one input, with the interface of pammcuda.PammQKV: x -> (q, k, v)."""

    def __init__(self, d_model, d_out):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d_model, d_out, bias=False) for _ in range(3))

    def forward(self, x):
        return self.q(x), self.k(x), self.v(x)


def dense_linear(d_in, d_out):
    return nn.Linear(d_in, d_out, bias=False)


@dataclasses.dataclass(frozen=True)
class Layers:
    """
    How a mode builds a block's linear layers, all bias-free: `qkv(d_model, d_out)` for Q/K/V, and `out`, `gate_up` and
    `down`, each `(d_in, d_out)`, for attention's output projection and the MLP's two layers.
    """

    qkv: callable = DenseQKV
    out: callable = dense_linear
    gate_up: callable = dense_linear
    down: callable = dense_linear


class Attention(nn.Module):
    def __init__(self, config, layers):
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = layers.qkv(config.d_model, config.d_model)
        self.out = layers.out(config.d_model, config.d_model)
        self.rotary = RotaryEmbedding(config.d_model // config.n_heads, config.context)

    def forward(self, x):
        batch, positions, d_model = x.shape
        heads = [t.reshape(batch, positions, self.n_heads, -1).transpose(1, 2) for t in self.qkv(x)]
        q, k, v = self.rotary(heads[0]), self.rotary(heads[1]), heads[2]
        return self.out(causal_attention(q, k, v).transpose(1, 2).reshape(batch, positions, d_model))


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)), with gate and up as one layer of 2·d_ff outputs (one read of x, one input kept)."""

    def __init__(self, config, layers):
        super().__init__()
        self.gate_up = layers.gate_up(config.d_model, 2 * config.d_ff)
        self.down = layers.down(config.d_ff, config.d_model)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config, layers):
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model)
        self.attn = Attention(config, layers)
        self.mlp_norm = RMSNorm(config.d_model)
        self.mlp = SwiGLU(config, layers)

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    """tokens (batch, positions) -> logits (batch, positions, vocab). `checkpoint_blocks` recomputes each block
    in backward instead of keeping its activations (torch.utils.checkpoint)."""

    def __init__(self, config, layers=Layers(), checkpoint_blocks=False):
        super().__init__()
        self.config = config
        self.checkpoint_blocks = checkpoint_blocks
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config, layers) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            if self.checkpoint_blocks and torch.is_grad_enabled():
                x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return self.head(self.norm(x))


def initialise(model, std=0.02):
    """GPT-2/LLaMA initialisation: N(0, 0.02) for embeddings and linear weights, RMSNorm weights at 1."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=std)
    return model


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
