"""What a test needs from this machine, and why it is skipped where that is missing (shared by the test modules)."""

import torch

import pammcuda


def cuda_skip_reason():
    """None where PyTorch and libpammcuda can both use CUDA, else why not (the reason a CUDA test is skipped with)."""
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device"
    available, reason = pammcuda.cuda_available()
    return None if available else f"libpammcuda cannot use CUDA: {reason}"


def torch_at_least(major, minor):
    """Whether the installed torch is at least major.minor."""
    return tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2]) >= (major, minor)
