"""ctypes bindings of libpammcuda.so (native/include/pamm.h): loading, signatures and status checks."""

import ctypes
import functools
import os
import pathlib
import platform

# pamm_status values.
OK = 0
INVALID_ARGUMENT = 1
INVALID_HANDLE = 2
CUDA_UNAVAILABLE = 3
OUT_OF_MEMORY = 4
BUFFER_TOO_SMALL = 5
RUNTIME = 6

# pamm_layout values.
INPUT_BY_GRADIENT = 0
GRADIENT_BY_INPUT = 1

# The most products one pamm_approx_matmul_batch takes (PAMM_MAX_BATCHED_PRODUCTS).
MAX_BATCHED_PRODUCTS = 3


class PammError(RuntimeError):
    """A pamm_* call failed; `status` is its pamm_status and the message is pamm_last_error()."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class PammArgumentError(PammError, ValueError):
    """PAMM_ERROR_INVALID_ARGUMENT: the message names the argument."""


class PammHandleError(PammError):
    """PAMM_ERROR_INVALID_HANDLE: a freed or wrong-kind handle."""


class PammCudaUnavailableError(PammError):
    """PAMM_ERROR_CUDA_UNAVAILABLE: the message says why."""


class Options(ctypes.Structure):
    _fields_ = [("ratio", ctypes.c_double), ("k", ctypes.c_int32), ("epsilon", ctypes.c_double), ("seed", ctypes.c_uint64),
                ("alpha_dtype", ctypes.c_int32), ("refine_generators", ctypes.c_int32)]


class CompressedInfo(ctypes.Structure):
    _fields_ = [
        ("rows", ctypes.c_int32), ("cols", ctypes.c_int32), ("k", ctypes.c_int32), ("dropped_rows", ctypes.c_int32),
        ("dtype", ctypes.c_int32), ("on_gpu", ctypes.c_int32), ("stored_bytes", ctypes.c_int64), ("dense_bytes", ctypes.c_int64),
        ("alpha_dtype", ctypes.c_int32),
    ]


_i32, _f32, _ptr, _status, _size = ctypes.c_int32, ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
_product = [_ptr, _i32, _i32, _ptr, _i32, _i32, _f32, _f32]  # grad, grad_cols, grad_dtype, out, out_dtype, layout, a, c
_SIGNATURES = {
    "pamm_version": (ctypes.c_char_p, []),
    "pamm_abi_version": (_i32, []),
    "pamm_last_error": (ctypes.c_char_p, []),
    "pamm_options_init": (_status, [ctypes.POINTER(Options)]),
    "pamm_cuda_available": (_status, [ctypes.POINTER(_i32)]),
    "pamm_cuda_unavailable_reason": (_status, [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "pamm_cuda_device_name": (_status, [_i32, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    "pamm_engine_create": (_status, [_i32, _ptr, ctypes.POINTER(Options), ctypes.POINTER(_ptr)]),
    "pamm_engine_destroy": (_status, [_ptr]),
    "pamm_compress": (_status, [_ptr, _ptr, _i32, _i32, _i32, ctypes.POINTER(_ptr)]),
    "pamm_compress_with_options": (_status, [_ptr, _ptr, _i32, _i32, _i32, ctypes.POINTER(Options), ctypes.POINTER(_ptr)]),
    "pamm_approx_matmul": (_status, [_ptr, _ptr] + _product),
    "pamm_compressed_get_info": (_status, [_ptr, ctypes.POINTER(CompressedInfo)]),
    "pamm_compressed_free": (_status, [_ptr]),
    "pamm_live_compressed_count": (_status, [ctypes.POINTER(ctypes.c_int64)]),
    "pamm_live_handle_count": (_status, [ctypes.POINTER(ctypes.c_int64)]),
    "pamm_cuda_device_references": (_status, [_i32, ctypes.POINTER(ctypes.c_int64)]),
    "pamm_resolve_k": (_status, [ctypes.POINTER(Options), _i32, ctypes.POINTER(_i32)]),
    "pamm_compressed_storage_bytes": (_status, [_i32, _i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_compress_workspace_bytes": (_status, [_i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_approx_matmul_workspace_bytes": (_status, [_i32, _i32, _i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_product_plan_bytes": (_status, [_i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_compressed_prepare_products": (_status, [_ptr, _ptr, _ptr, _size]),
    "pamm_compress_into": (_status, [_ptr, _ptr, _i32, _i32, _i32, ctypes.POINTER(Options), _ptr, _size, _ptr, _size, ctypes.POINTER(_ptr)]),
    "pamm_approx_matmul_with_workspace": (_status, [_ptr, _ptr] + _product + [_ptr, _size]),
    "pamm_approx_matmul_batch_workspace_bytes": (_status, [_i32, _i32, _i32, _i32, _i32, ctypes.POINTER(_i32), _i32, ctypes.POINTER(_size)]),
    "pamm_approx_matmul_batch": (_status, [_ptr, _ptr, _i32, ctypes.POINTER(_ptr), ctypes.POINTER(_i32), _i32, ctypes.POINTER(_ptr), _i32, _i32,
                                           _f32, _f32, _ptr, _size]),
    "pamm_compressed_read_dropped_rows": (_status, [_ptr, ctypes.POINTER(_i32)]),
    "pamm_project_and_compress_workspace_bytes": (_status, [_i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_project_and_compress_into": (_status, [_ptr, _ptr, _i32, _i32, _i32, _ptr, _i32, _ptr, ctypes.POINTER(Options), _ptr, _size,
                                                 _ptr, _size, ctypes.POINTER(_ptr)]),
    "pamm_project_and_compress_split_into": (_status, [_ptr, _ptr, _i32, _i32, _i32, _ptr, _i32, ctypes.POINTER(_i32), ctypes.POINTER(_ptr),
                                                       ctypes.POINTER(Options), _ptr, _size, _ptr, _size, ctypes.POINTER(_ptr)]),
    "pamm_cpu_compress_into": (_status, [_ptr, _i32, _i32, _i32, ctypes.POINTER(Options), _ptr, _size, ctypes.POINTER(_ptr)]),
    "pamm_compressed_open": (_status, [_ptr, _ptr, _size, _i32, _i32, _i32, _i32, _i32, _ptr, _size, ctypes.POINTER(_ptr)]),
    "pamm_planned_matmul_workspace_bytes": (_status, [_i32, _i32, _i32, _i32, _i32, _i32, ctypes.POINTER(_size)]),
    "pamm_cpu_compressed_open": (_status, [_ptr, _size, _i32, _i32, _i32, _i32, _i32, ctypes.POINTER(_ptr)]),
    "pamm_cpu_compress": (_status, [_ptr, _i32, _i32, _i32, ctypes.POINTER(Options), ctypes.POINTER(_ptr)]),
    "pamm_cpu_approx_matmul": (_status, [_ptr] + _product),
    "pamm_cpu_exact_matmul": (_status, [_ptr, _i32, _i32, _i32] + _product),
    "pamm_cpu_vector_bits": (_status, [ctypes.POINTER(_i32)]),
}

ABI_VERSION = 3


def library_path():
    """$PAMMCUDA_LIB, else libpammcuda.so next to this package."""
    return os.environ.get("PAMMCUDA_LIB") or str(pathlib.Path(__file__).with_name("libpammcuda.so"))


# The x86-64-v3 features libpammcuda.so is compiled for (IlcInstructionSet in PammCuda.Native.csproj), by their
# /proc/cpuinfo names; LZCNT is left out because Linux does not list it on every CPU that has it.
X86_64_V3_FEATURES = ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe")


def check_cpu(cpu_flags, path="libpammcuda.so"):
    """
    Raises ImportError naming what is missing when the CPU whose /proc/cpuinfo flags are `cpu_flags` cannot run the
    x86-64 library: NativeAOT's start-up ends the whole process on such a CPU, so this runs before loading it.
    """
    missing = [feature for feature in X86_64_V3_FEATURES if feature not in cpu_flags]
    if missing:
        raise ImportError(f"{path} needs an x86-64-v3 CPU (AVX2 and FMA: Intel Haswell, AMD Zen or later); this CPU "
                          f"lacks {', '.join(missing)}")


def _cpu_flags():
    """This CPU's flags from /proc/cpuinfo, or None where there is no such file (then nothing is checked)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


@functools.lru_cache(maxsize=None)
def lib():
    """The loaded library with every signature declared; loaded on first use."""
    path = library_path()
    flags = _cpu_flags() if platform.machine() in ("x86_64", "AMD64") else None
    if flags is not None:
        check_cpu(flags, path)
    try:
        library = ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(f"cannot load libpammcuda.so from {path} (set PAMMCUDA_LIB): {error}") from error
    # The version first: a library of another ABI lacks functions of this one, and should say so, not which symbol.
    try:
        abi_version = library.pamm_abi_version
    except AttributeError:
        raise ImportError(f"{path} is not a PammCuda library: it has no pamm_abi_version") from None
    abi_version.restype, abi_version.argtypes = _SIGNATURES["pamm_abi_version"]
    if abi_version() != ABI_VERSION:
        raise ImportError(f"{path} has ABI {abi_version()}, this package needs {ABI_VERSION}")
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            raise ImportError(f"{path} says ABI {ABI_VERSION} but has no {name}: a broken or mismatched build") from None
        function.restype, function.argtypes = restype, argtypes
    return library


_ERRORS = {INVALID_ARGUMENT: PammArgumentError, INVALID_HANDLE: PammHandleError, CUDA_UNAVAILABLE: PammCudaUnavailableError}


def check(status):
    """Raises the PammError that matches a failed status, with the library's message."""
    if status != OK:
        message = lib().pamm_last_error().decode("utf-8", "replace")
        raise _ERRORS.get(status, PammError)(status, message)


def read_string(function, *arguments):
    """Calls a pamm_* string function twice: once for the length, once with a buffer of that size."""
    length = ctypes.c_size_t()
    check(function(*arguments, None, 0, ctypes.byref(length)))
    buffer = ctypes.create_string_buffer(length.value + 1)
    check(function(*arguments, buffer, len(buffer), ctypes.byref(length)))
    return buffer.value.decode("utf-8", "replace")


def _count(function, *arguments):
    count = ctypes.c_int64()
    check(function(*arguments, ctypes.byref(count)))
    return count.value


def cpu_vector_bits():
    """
    The SIMD width in bits that the library's CPU backend runs at: 256 (AVX2 with FMA) for this x86-64 library. It
    sets the speed of CPU compressions and products, never their results.
    """
    bits = ctypes.c_int32()
    check(lib().pamm_cpu_vector_bits(ctypes.byref(bits)))
    return bits.value


def live_handle_count():
    """Live handles of every kind (engines and compressed activations): a leak check."""
    return _count(lib().pamm_live_handle_count)


def cuda_device_references(ordinal):
    """Engines sharing the library's device object of CUDA device `ordinal` (0 when none is open)."""
    return _count(lib().pamm_cuda_device_references, ordinal)


def live_compressed_count():
    """Live compressed activations (pamm_compressed handles) of either backend: a leak check of the graphs' inputs.
    Engines are left out: the package keeps one per device and stream for the life of the process."""
    return _count(lib().pamm_live_compressed_count)
