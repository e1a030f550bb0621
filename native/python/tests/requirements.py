"""What a test needs from this machine, and why it is skipped where that is missing (shared by the test modules)."""

import functools
import os

import torch

import pammcuda


@functools.lru_cache(maxsize=None)
def cuda_skip_reason():
    """
    None where PyTorch and libpammcuda can both use CUDA, else why not (the reason a CUDA test is skipped with). With
    PAMM_REQUIRE_CUDA=1 (a GPU visit sets it) a missing CUDA is an error instead: there, a skipped CUDA test would read
    as a visit that passed.
    """
    if not torch.cuda.is_available():
        reason = "PyTorch sees no CUDA device"
    else:
        available, unavailable = pammcuda.cuda_available()
        reason = None if available else f"libpammcuda cannot use CUDA: {unavailable}"
    if reason and os.environ.get("PAMM_REQUIRE_CUDA") == "1":
        raise RuntimeError(f"PAMM_REQUIRE_CUDA=1, but {reason}")
    return reason


def torch_at_least(major, minor):
    """Whether the installed torch is at least major.minor."""
    return tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2]) >= (major, minor)


@functools.lru_cache(maxsize=None)
def inductor_skip_reason(device):
    """None where torch.compile's default backend, Inductor, builds code for the device (a C++ compiler and torch's
    headers on the CPU, Triton on CUDA), else why not. Probed with a function that involves no pammcuda op, so a
    failure here is the toolchain's, never the package's."""
    import torch._dynamo

    try:
        torch.compile(lambda t: t * 2 + 1, fullgraph=True)(torch.ones(4, device=device))
    except Exception as error:  # any failure to build means the toolchain is missing: say which
        first_line = next(iter(str(error).strip().splitlines()), "")
        return f"Inductor cannot build code for {device} here ({type(error).__name__}: {first_line})"
    finally:
        torch._dynamo.reset()
    return None
