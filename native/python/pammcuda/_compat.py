"""
What differs between the PyTorch versions the package supports (1.13 to 2.x): autocast queries, torch.compile and
where DTensor lives.
"""

import torch


def compile_disable(function):
    """
    torch.compiler.disable where torch.compile exists (a graph break: TorchDynamo runs `function` eagerly and compiles
    around it), else `function` itself. PAMM's autograd path calls into libpammcuda through ctypes and keeps its
    compressed activations as native handles, which a compiled graph cannot trace.
    """
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "disable"):  # torch >= 2.1
        return compiler.disable(function)
    dynamo = getattr(torch, "_dynamo", None)  # torch 2.0
    if dynamo is not None and hasattr(dynamo, "disable"):
        return dynamo.disable(function)
    return function


CUSTOM_OPS_TRACEABLE = hasattr(torch.library, "register_fake")
"""torch >= 2.4: the pammcuda ops have fake implementations torch.compile uses, so the layers need no graph break."""


def compile_disable_unless_traceable(function):
    """`function` itself where torch.compile can trace the pammcuda ops (torch >= 2.4), else compile_disable(function)."""
    return function if CUSTOM_OPS_TRACEABLE else compile_disable(function)


def is_compiling():
    """Whether torch.compile is tracing the caller now (torch >= 2.3 asks torch.compiler, 2.0 to 2.2 TorchDynamo)."""
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return compiler.is_compiling()
    dynamo = getattr(torch, "_dynamo", None)
    return dynamo is not None and hasattr(dynamo, "is_compiling") and dynamo.is_compiling()


def autocast_dtype(device_type):
    """The dtype torch.autocast runs linear layers in on `device_type` now, or None where autocast is off."""
    if hasattr(torch, "get_autocast_dtype"):  # torch >= 2.4 takes the device type
        return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None
    if device_type == "cuda":
        return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None
    if device_type == "cpu":
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return None


def call_as_autocast_linear(function, *args):
    """
    function(*args) as torch.autocast runs a linear layer: where autocast is on for the first tensor's device, its
    floating tensors other than float64 are cast to autocast's dtype (differentiably, so float32 master weights
    receive float32 gradients) and `function` runs with autocast off. A custom autograd.Function needs this: autocast
    would otherwise reach only the ops inside its forward, and the input it compresses would stay float32.
    """
    device_type = next(arg for arg in args if isinstance(arg, torch.Tensor)).device.type
    dtype = autocast_dtype(device_type)
    if dtype is None:
        return function(*args)

    def cast(arg):
        if isinstance(arg, torch.Tensor) and arg.is_floating_point() and arg.dtype != torch.float64:
            return arg.to(dtype)
        return arg

    with torch.autocast(device_type, enabled=False):
        return function(*(cast(arg) for arg in args))


def is_dtensor(tensor):
    """
    Whether `tensor` is a torch.distributed DTensor (torch.distributed.tensor from 2.5, torch.distributed._tensor
    before), told by its class so that nothing is imported for a plain tensor. A DTensor is a wrapper without data of
    its own: its data pointer is null, and its local shard is not the whole tensor.
    """
    if type(tensor) in (torch.Tensor, torch.nn.Parameter):
        return False
    return any(cls.__name__ == "DTensor" and cls.__module__.startswith("torch.distributed.") for cls in type(tensor).__mro__)
