"""PAMM on torch tensors: compress an activation, then approximate X^T G from it, on the CPU or on CUDA."""

import ctypes
import dataclasses
import math
import threading

import torch

from . import _native

_DTYPES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}


@dataclasses.dataclass(frozen=True)
class PammOptions:
    """How activations are compressed (pamm_options): a ratio or an explicit k, epsilon and the sampling seed."""

    ratio: float = 1.0 / 512.0
    k: int = 0
    epsilon: float = math.inf
    seed: int = 0

    def to_native(self):
        options = _native.Options()
        _native.check(_native.lib().pamm_options_init(ctypes.byref(options)))
        options.ratio, options.k, options.epsilon, options.seed = self.ratio, self.k, self.epsilon, self.seed
        return options


def dtype_code(tensor, name):
    try:
        return _DTYPES[tensor.dtype]
    except KeyError:
        raise TypeError(f"{name} is {tensor.dtype}; PAMM takes float32, float16 or bfloat16") from None


def _check_matrix(tensor, name):
    if tensor.dim() != 2 or not tensor.is_contiguous():
        raise ValueError(f"{name} must be a contiguous 2-D tensor, got shape {tuple(tensor.shape)} (contiguous: {tensor.is_contiguous()})")
    dtype_code(tensor, name)


class _Engine:
    """A pamm_engine on one CUDA device and stream, destroyed with its last user. Options are given per compression."""

    def __init__(self, device_index, stream):
        self._lib = _native.lib()
        handle = ctypes.c_void_p()
        _native.check(self._lib.pamm_engine_create(device_index, stream, ctypes.byref(PammOptions().to_native()), ctypes.byref(handle)))
        self.handle = handle

    def __del__(self):
        if getattr(self, "handle", None):
            self._lib.pamm_engine_destroy(self.handle)


_engines = {}
_engines_lock = threading.Lock()


def _engine_for(device):
    """
    The engine for (device, PyTorch's current stream there): kernels are compiled and scratch is kept once per engine,
    whatever the options, which every compression passes itself (a layer changes its seed at every step).
    """
    stream = torch.cuda.current_stream(device).cuda_stream
    key = (device.index, stream)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _Engine(device.index, stream)
        return engine


class Compressed:
    """
    A compressed activation (pamm_compressed), freed when this object is: autograd keeps it on the graph
    node, so it lives exactly as long as the graph that needs it.
    """

    def __init__(self, handle, engine, device, rows, cols):
        self._lib = _native.lib()
        self._handle = handle
        self._engine = engine  # keeps a GPU handle's engine alive
        self.device = device
        self.rows, self.cols = rows, cols

    def info(self):
        """pamm_compressed_info: k, dropped rows, stored and dense bytes (for a CUDA activation this waits for the stream)."""
        info = _native.CompressedInfo()
        _native.check(self._lib.pamm_compressed_get_info(self._handle, ctypes.byref(info)))
        return info

    @property
    def k(self):
        return self.info().k

    @property
    def stored_bytes(self):
        """Bytes this activation keeps, everything counted."""
        return self.info().stored_bytes

    @property
    def dense_bytes(self):
        """Bytes the input itself would take."""
        return self.info().dense_bytes

    @property
    def dropped_rows(self):
        return self.info().dropped_rows

    def matmul(self, grad, layout=_native.GRADIENT_BY_INPUT, out_dtype=None):
        """
        The approximate product with grad (rows x m): G^T X (m x cols, the [out, in] layout of a weight
        gradient) by default, or X^T G (cols x m) with layout=INPUT_BY_GRADIENT, as a new tensor.
        """
        _check_matrix(grad, "grad")
        if grad.shape[0] != self.rows:
            raise ValueError(f"grad has {grad.shape[0]} rows, the compressed activation {self.rows}")
        if grad.device != self.device:
            raise ValueError(f"grad is on {grad.device}, the compressed activation on {self.device}")
        m = grad.shape[1]
        shape = (m, self.cols) if layout == _native.GRADIENT_BY_INPUT else (self.cols, m)
        out = torch.empty(shape, dtype=out_dtype or grad.dtype, device=grad.device)
        product = (ctypes.c_void_p(grad.data_ptr()), m, dtype_code(grad, "grad"),
                   ctypes.c_void_p(out.data_ptr()), dtype_code(out, "out"), layout, 1.0, 0.0)
        if self._engine is None:
            _native.check(self._lib.pamm_cpu_approx_matmul(self._handle, *product))
        else:
            _native.check(self._lib.pamm_approx_matmul(self._engine.handle, self._handle, *product))
        return out

    def __del__(self):
        if getattr(self, "_handle", None):
            self._lib.pamm_compressed_free(self._handle)


def compress(x, options=PammOptions()):
    """Compresses a contiguous 2-D tensor (rows x cols) on its own device; on CUDA, on the current stream."""
    _check_matrix(x, "x")
    handle = ctypes.c_void_p()
    rows, cols = x.shape
    if x.is_cuda:
        engine = _engine_for(x.device)
        _native.check(engine._lib.pamm_compress_with_options(engine.handle, ctypes.c_void_p(x.data_ptr()), rows, cols, dtype_code(x, "x"),
                                                             ctypes.byref(options.to_native()), ctypes.byref(handle)))
        return Compressed(handle, engine, x.device, rows, cols)
    if x.device.type != "cpu":
        raise ValueError(f"x is on {x.device}; PAMM runs on CPU and CUDA tensors")
    library = _native.lib()
    _native.check(library.pamm_cpu_compress(ctypes.c_void_p(x.data_ptr()), rows, cols, dtype_code(x, "x"), ctypes.byref(options.to_native()), ctypes.byref(handle)))
    return Compressed(handle, None, x.device, rows, cols)


def cuda_available():
    """(available, reason): whether libpammcuda can use CUDA here, and why not."""
    available = ctypes.c_int32()
    library = _native.lib()
    _native.check(library.pamm_cuda_available(ctypes.byref(available)))
    return bool(available.value), _native.read_string(library.pamm_cuda_unavailable_reason)
