"""Imports pammcuda from this checkout: the package in native/python and the library built into artifacts/native."""

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


def load_pammcuda(device):
    """(pammcuda, None) when the package and its library load and can run on `device`, else (None, the reason)."""
    use_checkout()
    try:
        import pammcuda
        pammcuda.version()  # loads libpammcuda.so
    except (ImportError, OSError) as error:
        return None, str(error)
    if device.type == "cuda":
        available, reason = pammcuda.cuda_available()
        if not available:
            return None, f"libpammcuda cannot use CUDA: {reason}"
    return pammcuda, None
