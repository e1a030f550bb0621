"""nn.Modules that train their weights with PAMM gradients."""

import math

import torch

from . import autograd, backend


def _options(ratio, k, epsilon, seed):
    # A seed drawn from torch's generator: torch.manual_seed makes a model's sampling reproducible,
    # while each layer still samples its own rows.
    if seed is None:
        seed = int(torch.randint(0, 2**62, ()).item())
    return backend.PammOptions(ratio=ratio, k=k, epsilon=epsilon, seed=seed)


class PammLinear(torch.nn.Linear):
    """
    nn.Linear whose backward keeps only a PAMM summary of its input (ratio or k generators per batch)
    instead of the input: the forward output and the input gradient are exact, the weight gradient approximate.
    With ratio=1 the weight gradient is the exact one.
    """

    def __init__(self, in_features, out_features, bias=True, *, ratio=1.0 / 512.0, k=0, epsilon=math.inf, seed=None,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.options = _options(ratio, k, epsilon, seed)

    def forward(self, x):
        if not (torch.is_grad_enabled() and self.weight.requires_grad):
            return super().forward(x)
        return autograd.PammLinearFunction.apply(x, self.weight, self.bias, self.options)

    def extra_repr(self):
        return f"{super().extra_repr()}, options={self.options}"


class PammQKV(torch.nn.Module):
    """
    The Q, K and V projections of attention, d_model -> (q, k, v), with one PAMM compression of the
    shared input for the three weight gradients.
    """

    def __init__(self, d_model, d_q, d_k=None, d_v=None, bias=True, *, ratio=1.0 / 512.0, k=0, epsilon=math.inf,
                 seed=None, device=None, dtype=None):
        super().__init__()
        sizes = (d_q, d_k or d_q, d_v or d_q)
        self.q, self.k, self.v = (torch.nn.Linear(d_model, size, bias, device=device, dtype=dtype) for size in sizes)
        self.options = _options(ratio, k, epsilon, seed)

    def forward(self, x):
        layers = (self.q, self.k, self.v)
        if not (torch.is_grad_enabled() and any(layer.weight.requires_grad for layer in layers)):
            return tuple(layer(x) for layer in layers)
        weights = [layer.weight for layer in layers]
        biases = [layer.bias for layer in layers]
        return autograd.PammQKVFunction.apply(x, *weights, *biases, self.options)
