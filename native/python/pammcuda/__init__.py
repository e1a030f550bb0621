"""
PyTorch layers on libpammcuda (PAMM, Point-Approximate Matrix Multiplication): linear and Q/K/V
projections whose backward keeps a small summary of their input instead of the input, and `convert`, which gives
an existing model's attention projections (Hugging Face names) one shared summary per input.
CPU tensors run on the library's CPU backend, CUDA tensors on its GPU engine on PyTorch's current stream.
"""

from ._native import (PammArgumentError, PammCudaUnavailableError, PammError, PammHandleError, GRADIENT_BY_INPUT,
                      INPUT_BY_GRADIENT, cpu_vector_bits, cuda_device_references, library_path, live_compressed_count, live_handle_count)
from . import ops
from .autograd import PammLinearFunction, PammProjectionFunction, PammQKVFunction, saved_compression
from .backend import (Compressed, PammOptions, compress, compress_workspace_bytes, cuda_available, matmul_batch_workspace_bytes,
                      matmul_workspace_bytes,
                      open_compressed, product_plan_bytes, project_and_compress, project_and_compress_workspace_bytes,
                      resolve_k, storage_bytes)
from .convert import Conversion, PammSharedLinear, SharedCompression, conversions, convert, is_converted, unconvert
from .modules import PammLinear, PammQKV


def version():
    """libpammcuda's version string."""
    from ._native import lib
    return lib().pamm_version().decode()


__all__ = [
    "Compressed", "Conversion", "GRADIENT_BY_INPUT", "INPUT_BY_GRADIENT", "PammArgumentError", "PammCudaUnavailableError",
    "PammError", "PammHandleError", "PammLinear", "PammLinearFunction", "PammOptions", "PammProjectionFunction",
    "PammQKV", "PammQKVFunction", "PammSharedLinear", "SharedCompression", "compress", "compress_workspace_bytes",
    "conversions", "convert", "cpu_vector_bits", "cuda_available", "cuda_device_references", "is_converted", "library_path",
    "live_compressed_count", "live_handle_count", "matmul_batch_workspace_bytes", "matmul_workspace_bytes", "open_compressed", "ops", "product_plan_bytes",
    "project_and_compress", "project_and_compress_workspace_bytes", "resolve_k", "saved_compression", "storage_bytes",
    "unconvert", "version",
]
