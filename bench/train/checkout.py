"""bench/repository.py (what the Python benchmarks need from this checkout), reachable from this folder."""

import pathlib
import sys

sys.path.insert(1, str(pathlib.Path(__file__).resolve().parents[1]))

from repository import (LIBRARY, REPOSITORY, commit, keep_freed_memory, machine, openblas_core,  # noqa: E402
                        use_all_cores, use_checkout)

__all__ = ["LIBRARY", "REPOSITORY", "commit", "keep_freed_memory", "machine", "openblas_core", "use_all_cores",
           "use_checkout"]
