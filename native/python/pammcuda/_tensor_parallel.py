"""
Converted projections under tensor parallelism, in the layout torch.distributed.tensor.parallel.ColwiseParallel gives
them: the output features sharded over a 1-D mesh (Shard(0) of an nn.Linear weight [out, in] and of its bias,
Shard(1) of a Conv1D weight [in, out]) and the input replicated. Every rank compresses the whole input it was given
and computes its shard of the output and of the weight gradient from its local tensors; its input gradient is a
partial sum, which DTensor adds up across the mesh as it does for nn.Linear. Other layouts (a row-wise shard, a
sequence-sharded input) raise a TypeError that says so.
"""

import math


def _layout_error(module, what):
    return TypeError(f"{type(module).__name__} under tensor parallelism: {what}. A projection converted by pammcuda.convert "
                     f"takes ColwiseParallel's layout: output features sharded over a 1-D mesh, the input replicated")


def colwise_projection(module, x, project):
    """
    project(x, weight, bias) on this rank's local tensors, where x, module.weight and module.bias are DTensors in
    ColwiseParallel's layout; returned as a DTensor sharded on its last dimension (the ColwiseParallel plan's output
    hook makes a local tensor of it or keeps it, as the plan says).
    """
    from torch.distributed.tensor import DTensor, Partial, Replicate, Shard  # torch >= 2.5: only reached with a DTensor
    weight, bias = module.weight, module.bias
    if not isinstance(x, DTensor):
        raise _layout_error(module, "its weight is a DTensor and its input a plain tensor")
    if not isinstance(weight, DTensor):
        raise _layout_error(module, "its input is a DTensor and its weight a plain tensor")
    mesh = weight.device_mesh
    if mesh.ndim != 1:
        raise _layout_error(module, f"its weight lies on a {mesh.ndim}-D mesh")
    if x.device_mesh != mesh:
        raise _layout_error(module, "its input lies on another mesh than its weight")
    if tuple(x.placements) != (Replicate(),):
        raise _layout_error(module, f"its input has placements {tuple(x.placements)}")
    output_dim = 1 if module.pamm_transposed_weight else 0
    if tuple(weight.placements) != (Shard(output_dim),):
        raise _layout_error(module, f"its weight {list(weight.shape)} has placements {tuple(weight.placements)}")
    if bias is not None and (not isinstance(bias, DTensor) or tuple(bias.placements) != (Shard(0),)):
        raise _layout_error(module, f"its bias has placements {tuple(getattr(bias, 'placements', ()))}")

    local = project(x.to_local(grad_placements=(Partial(),)), weight.to_local(),
                    bias.to_local() if bias is not None else None)
    shape = (*x.shape[:-1], weight.shape[output_dim])
    stride = tuple(math.prod(shape[i + 1:]) for i in range(len(shape)))  # a fresh contiguous output, as F.linear gives
    return DTensor.from_local(local, mesh, (Shard(len(shape) - 1),), run_check=False, shape=shape, stride=stride)
