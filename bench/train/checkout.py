"""bench/repository.py (what the Python benchmarks need from this checkout), reachable from this folder."""

import pathlib
import sys

sys.path.insert(1, str(pathlib.Path(__file__).resolve().parents[1]))

from repository import LIBRARY, REPOSITORY, commit, machine, use_all_cores, use_checkout  # noqa: E402

__all__ = ["LIBRARY", "REPOSITORY", "commit", "machine", "use_all_cores", "use_checkout"]
