"""
Small local models with the module names and call patterns of Hugging Face's Llama and GPT-2, for tests of
pammcuda.convert without transformers (and for the DDP worker). Not a test module itself.
"""

import math

import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, hidden_states):
        variance = hidden_states.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden_states * torch.rsqrt(variance + self.eps)).to(hidden_states.dtype)


def causal_attention(q, k, v):
    """Softmax attention over (batch, heads, tokens, head size) with a causal mask, as eager Llama computes it."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    tokens = q.shape[-2]
    mask = torch.ones(tokens, tokens, dtype=torch.bool, device=q.device).triu(1)
    weights = torch.softmax(scores.masked_fill(mask, float("-inf")).float(), dim=-1).to(q.dtype)
    return weights @ v


class LlamaAttention(nn.Module):
    """Llama's attention call pattern: q_proj, k_proj and v_proj each called on the same hidden_states tensor."""

    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)

    def forward(self, hidden_states):
        batch, tokens, _ = hidden_states.shape
        q = self.q_proj(hidden_states).view(batch, tokens, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(batch, tokens, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(batch, tokens, self.kv_heads, self.head_dim).transpose(1, 2)
        repeat = self.heads // self.kv_heads  # grouped-query attention
        k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
        output = causal_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, -1)
        return self.o_proj(output)


class LlamaMLP(nn.Module):
    def __init__(self, hidden, intermediate):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, hidden, heads, kv_heads, intermediate):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = LlamaAttention(hidden, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.mlp = LlamaMLP(hidden, intermediate)

    def forward(self, hidden_states):
        hidden_states = hidden_states + self.self_attn(self.input_layernorm(hidden_states))
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class TinyLlama(nn.Module):
    """A causal language model with Llama's module tree: model.layers[i].self_attn.q_proj, ..., lm_head."""

    def __init__(self, vocabulary=64, hidden=32, layers=2, heads=4, kv_heads=2, intermediate=48):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocabulary, hidden)
        self.layers = nn.ModuleList(LlamaDecoderLayer(hidden, heads, kv_heads, intermediate) for _ in range(layers))
        self.norm = RMSNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocabulary, bias=False)

    def forward(self, tokens):
        hidden_states = self.embed_tokens(tokens)
        for layer in self.layers:
            hidden_states = layer(hidden_states)
        return self.lm_head(self.norm(hidden_states))


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D (GPT-2's linear layer): y = x W + b with W [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf, self.nx = nf, nx
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Attention(nn.Module):
    """GPT-2's attention call pattern: one fused c_attn (a Conv1D) split into q, k and v, and c_proj."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = Conv1D(3 * hidden, hidden)
        self.c_proj = Conv1D(hidden, hidden)

    def forward(self, hidden_states):
        batch, tokens, hidden = hidden_states.shape
        q, k, v = self.c_attn(hidden_states).split(hidden, dim=2)
        q, k, v = (t.view(batch, tokens, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        return self.c_proj(causal_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, hidden))


class QKVAttention(nn.Module):
    """Attention with a fused nn.Linear qkv_proj (Phi-3's name) of out_features 3 * hidden."""

    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.qkv_proj = nn.Linear(hidden, 3 * hidden)
        self.o_proj = nn.Linear(hidden, hidden)

    def forward(self, hidden_states):
        batch, tokens, hidden = hidden_states.shape
        q, k, v = self.qkv_proj(hidden_states).chunk(3, dim=-1)
        q, k, v = (t.view(batch, tokens, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        return self.o_proj(causal_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, hidden))


class GateUpMLP(nn.Module):
    """Phi-3's MLP: one fused nn.Linear gate_up_proj split into gate and up, then down_proj."""

    def __init__(self, hidden, intermediate):
        super().__init__()
        self.gate_up_proj = nn.Linear(hidden, 2 * intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(nn.functional.silu(gate) * up)
