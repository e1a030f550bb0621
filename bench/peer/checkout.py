"""Imports pammcuda from this checkout (bench/repository.py) and says why it cannot run where it cannot."""

import pathlib
import sys

sys.path.insert(1, str(pathlib.Path(__file__).resolve().parents[1]))

from repository import LIBRARY, REPOSITORY, commit, machine, use_all_cores, use_checkout  # noqa: E402,F401


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
