"""
What the Python benchmarks (bench/train, bench/peer) need from this checkout, written once: the pammcuda package in
native/python with the library built into artifacts/native, the CPU thread count, and the commit and machine a
result is recorded with. Each benchmark folder's checkout.py puts this folder on sys.path and re-exports it.
"""

import os
import pathlib
import subprocess
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
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
    """Debian's PyTorch starts with one thread here; a CPU run should use every core it may run on, unless
    OMP_NUM_THREADS says otherwise (several runs side by side: OpenMP threads that outnumber the cores spin)."""
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0))))


def keep_freed_memory():
    """
    Keeps the memory a CPU training step frees for the next step. glibc hands blocks above its mmap threshold (and
    a heap top above its trim threshold) back to the kernel, so every step of a large batch, which frees and allocates
    its activations again, took every page fault again: at 16,384 tokens a step of the tiny config over a third of
    the time went to the kernel and a step ran 2.7x slower (3,130 against 8,477 tokens/s, one thread). Resident
    memory stays at the step's peak, which the step needs anyway. glibc only (mallopt); returns whether it applied.
    """
    import ctypes
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # not glibc
        return False
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, -1) == 1


def commit():
    """$PAMM_COMMIT (a GPU visit sets it: the working tree travels without .git), else HEAD, else 'unknown'."""
    if os.environ.get("PAMM_COMMIT"):
        return os.environ["PAMM_COMMIT"]
    try:
        return subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(device):
    """The GPU's name, or the CPU's model and the threads torch uses."""
    import torch
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            name = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        name = "unknown CPU"
    threads = torch.get_num_threads()
    core = openblas_core()
    blas = f", OpenBLAS {core} kernels" if core else ""
    return f"{name}, {threads} thread{'s' if threads > 1 else ''}{blas}"


def openblas_core():
    """
    The kernels of the OpenBLAS that torch computes with, as OpenBLAS names them ("Haswell", "SkylakeX", ...), or None
    where torch uses no OpenBLAS (a pip wheel's MKL). A CPU result depends on them in speed and in its roundings, and an
    OpenBLAS older than the CPU picks its generic "Prescott" kernels: Debian 12's 0.3.21 does on an Intel Xeon of family
    6, model 207 (Emerald Rapids), where they multiply at a fifth of the speed of its SkylakeX ones. OPENBLAS_CORETYPE
    chooses them. Read from the library this process has loaded (its path in /proc/self/maps), not a second copy.
    """
    import ctypes
    import torch  # noqa: F401  (loads the BLAS that torch links)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None
