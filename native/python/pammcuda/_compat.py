"""What differs between the PyTorch versions the package supports (1.13 to 2.x): autocast queries and torch.compile."""

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


def autocast_dtype(device_type):
    """The dtype torch.autocast runs linear layers in on `device_type` now, or None where autocast is off."""
    if hasattr(torch, "get_autocast_dtype"):  # torch >= 2.4 takes the device type
        return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None
    if device_type == "cuda":
        return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None
    if device_type == "cpu":
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return None
