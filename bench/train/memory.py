"""
What one training step keeps in memory for its backward pass, counted during one forward pass, on any device:

- the Q/K/V inputs: what the three projections of every block keep, the input (dense) or PAMM's storage tensor;
- everything the step keeps for backward: the storage of every tensor autograd saves, counted once however many
  operations save it or a view of it, plus the block inputs `torch.utils.checkpoint` keeps to recompute its blocks;
  parameters and buffers left out (they are there whether or not a step runs).

The second figure is the step's activation memory, the part of its peak that a memory-saving method can change: on
the CPU, where torch has no `max_memory_allocated`, it is the memory figure; on CUDA it explains the peak beside it.
"""

import dataclasses

import torch

import modes
import pammcuda
from model import Block


@dataclasses.dataclass(frozen=True)
class KeptBytes:
    qkv_dense: int   # the Q/K/V inputs as dense layers keep them, in the dtype their matmul reads
    qkv_stored: int  # what this mode's Q/K/V projections keep instead (the same as qkv_dense for dense layers)
    saved: int       # everything the step keeps for backward (see the module's docstring)


def _storage(tensor):
    """(key, bytes) of the memory a tensor lives in: what a saved view keeps alive is its whole storage."""
    storage = tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()  # torch < 2.0
    return (tensor.device, storage.data_ptr()), storage.nbytes()


class _SavedStorages:
    """The distinct storages handed to it, apart from those of the model's own state."""

    def __init__(self, model):
        self.excluded = {_storage(t)[0] for t in list(model.parameters()) + list(model.buffers())}
        self.sizes = {}

    def add(self, tensor):
        key, size = _storage(tensor)
        if key not in self.excluded:
            self.sizes[key] = size

    def total(self):
        return sum(self.sizes.values())


def kept_bytes(model, inputs, targets, loss_function, autocast):
    """
    KeptBytes of one step of `model` on (inputs, targets), from one forward pass and its loss, run under the context
    manager `autocast()`. Draws what a forward pass draws from torch's generator (PAMM's seeds), no more.
    """
    qkv_dense, qkv_stored = 0, 0
    saved = _SavedStorages(model)

    def count_qkv(module, arguments, outputs):
        nonlocal qkv_dense, qkv_stored
        x = arguments[0]
        element = torch.empty((), dtype=outputs[0].dtype).element_size()
        qkv_dense += x.numel() * element
        compressed = pammcuda.saved_compression(outputs[0].grad_fn)
        qkv_stored += compressed.storage.numel() if compressed is not None else x.numel() * element

    def count_checkpointed_input(module, arguments):
        # Non-reentrant checkpointing saves nothing inside the block through these hooks (its own take precedence);
        # what it keeps is the block's input, to run the block again in backward.
        if model.checkpoint_blocks and torch.is_grad_enabled():
            saved.add(arguments[0])

    def pack(tensor):
        saved.add(tensor)
        return tensor

    hooks = [m.register_forward_hook(count_qkv) for m in modes.kept_input_modules(model)]
    hooks += [m.register_forward_pre_hook(count_checkpointed_input) for m in model.modules() if isinstance(m, Block)]
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), autocast():
            loss = loss_function(model, inputs, targets)
        del loss  # the graph, and with it what it saved, goes here; the counts stay
    finally:
        for hook in hooks:
            hook.remove()
    return KeptBytes(qkv_dense, qkv_stored, saved.total())
