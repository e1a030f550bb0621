"""
What one training step keeps in memory for its backward pass, counted during one forward pass, on any device:

- the Q/K/V inputs: what the three projections of every block keep, the input (dense) or PAMM's storage tensor;
- everything the step keeps for backward: the storage of every tensor autograd saves, counted once however many
  operations save it or a view of it, plus the block inputs `torch.utils.checkpoint` keeps to recompute its blocks;
  parameters and buffers left out (they are there whether or not a step runs).

The second figure is the step's activation memory, the part of its peak that a memory-saving method can change: on
the CPU, where torch has no `max_memory_allocated`, it is the memory figure; on CUDA it explains the peak beside it.
Each storage is also charged to the part of the model whose forward saved it first (PARTS), so a report can say where
the memory goes.
"""

import collections
import dataclasses
import re

import torch

import modes
import pammcuda
from model import Block


# The parts of model.Llama a saved storage is charged to, by the name of the innermost module running when it was saved
# (block indices replaced by *); the first pattern that matches names the part. Outside every module: the loss.
PARTS = (
    (r"blocks\.\*\.(attn_norm|mlp_norm)|norm", "RMSNorm"),
    (r"blocks\.\*\.attn\.qkv(\..*)?", "Q/K/V projections"),
    (r"blocks\.\*\.attn\.out", "O projection"),
    (r"blocks\.\*\.attn(\..*)?", "attention"),
    (r"blocks\.\*\.mlp\.gate_up", "gate/up projection"),
    (r"blocks\.\*\.mlp\.down", "down projection"),
    (r"blocks\.\*\.mlp", "SwiGLU"),
    (r"blocks\.\*", "block inputs (checkpoint)"),
    (r"embed", "embedding"),
    (r"head", "head"),
    (r"", "loss, and the model outside its modules"),
    (r".+", "other modules"),
)


def part_of(module_name):
    """The PARTS label of a module's qualified name in the model (e.g. 'blocks.3.mlp.down' -> 'down projection')."""
    pattern = re.sub(r"\.\d+(?=\.|$)", ".*", module_name)
    return next(label for regex, label in PARTS if re.fullmatch(regex, pattern))


@dataclasses.dataclass(frozen=True)
class KeptBytes:
    qkv_dense: int   # the Q/K/V inputs as dense layers keep them, in the dtype their matmul reads
    qkv_stored: int  # what this mode's Q/K/V projections keep instead (the same as qkv_dense for dense layers)
    saved: int       # everything the step keeps for backward (see the module's docstring)
    saved_by_part: dict  # saved, split by the PARTS label of the module that saved each storage first


def _storage(tensor):
    """(key, bytes) of the memory a tensor lives in: what a saved view keeps alive is its whole storage."""
    storage = tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()  # torch < 2.0
    return (tensor.device, storage.data_ptr()), storage.nbytes()


class _SavedStorages:
    """The distinct storages handed to it, apart from those of the model's own state, each with the part it came from."""

    def __init__(self, model):
        self.excluded = {_storage(t)[0] for t in list(model.parameters()) + list(model.buffers())}
        self.sizes, self.parts = {}, {}

    def add(self, tensor, part, recharge=False):
        """Counts the tensor's storage once, charged to `part` the first time (or now, with recharge)."""
        key, size = _storage(tensor)
        if key not in self.excluded and (recharge or key not in self.sizes):
            self.sizes[key], self.parts[key] = size, part

    def total(self):
        return sum(self.sizes.values())

    def by_part(self):
        totals = collections.Counter()
        for key, size in self.sizes.items():
            totals[self.parts[key]] += size
        return dict(totals)


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

    parts = {module: part_of(name) for name, module in model.named_modules()}
    running = []  # the parts of the modules whose forward is under way, innermost last
    outside = part_of("")

    def enter(module, arguments):
        running.append(parts[module])
        # Non-reentrant checkpointing saves nothing inside the block through these hooks (its own take precedence);
        # what it keeps is the block's input, to run the block again in backward. torch >= 2.1 saves that input itself,
        # through these hooks, just before the block runs: it is charged to the block here all the same.
        if isinstance(module, Block) and model.checkpoint_blocks and torch.is_grad_enabled():
            saved.add(arguments[0], parts[module], recharge=True)

    def leave(module, arguments, outputs):
        running.pop()

    def pack(tensor):
        saved.add(tensor, running[-1] if running else outside)
        # Detached: the same storage, kept until the graph goes, so no address is reused and counted twice while the
        # forward pass runs; but not the tensor itself. Where an operation saves its own output, that tensor's grad_fn
        # would own the saved variable, which would own the tensor again: a cycle through C++ that Python's gc cannot
        # see (pytorch/pytorch#115255), so a graph never run backward, as here, stayed alive for good, with every
        # activation it saved and, through its AccumulateGrad nodes, the model's parameters: on CUDA every count (one
        # a mode, before its first training step or in --memory-only) left a step's activations allocated for good.
        return tensor.detach()

    hooks = [m.register_forward_hook(count_qkv) for m in modes.kept_input_modules(model)]
    for module in parts:
        hooks += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), autocast():
            loss = loss_function(model, inputs, targets)
        del loss  # the graph, and with it what it saved, goes here; the counts stay
    finally:
        for hook in hooks:
            hook.remove()
    return KeptBytes(qkv_dense, qkv_stored, saved.total(), saved.by_part())
