"""Runs the training program from a checkout: the pammcuda package beside it and the library built into artifacts/."""

import os
import pathlib
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
LIBRARY = REPOSITORY / "artifacts" / "native" / "libpammcuda.so"


def use_checkout():
    """Puts native/python on sys.path (after an installed pammcuda, if any) and points PAMMCUDA_LIB at the library
    that `dotnet publish native/PammCuda.Native -c Release -r linux-x64 -o artifacts/native` builds, unless set."""
    package_parent = str(REPOSITORY / "native" / "python")
    if package_parent not in sys.path:
        sys.path.append(package_parent)
    if "PAMMCUDA_LIB" not in os.environ and LIBRARY.exists():
        os.environ["PAMMCUDA_LIB"] = str(LIBRARY)


def use_all_cores():
    """Debian's PyTorch starts with one thread here; training on the CPU should use every core it may run on, unless
    OMP_NUM_THREADS says otherwise (several runs side by side: OpenMP threads that outnumber the cores spin)."""
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0))))
