"""
PAMM as torch.library operators (namespace `pammcuda`), which the layers' autograd functions call.

Every input and output of these ops is a tensor or a plain value: the compressed form is the uint8 `storage` tensor a
compression writes (C, f, alpha and eta, laid out as pamm.h says), described by the input's shape, the options and
the dtypes, and opened again wherever it is multiplied. Nothing else lives between forward and backward, so
torch.compile can put the ops in a graph (their fake implementations give the output shapes without data), and
PyTorch's caching allocator owns every byte. On CUDA the ops run on the current stream and never wait.

    storage = torch.ops.pammcuda.compress(x, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False)
    ys, storage = torch.ops.pammcuda.project_and_compress(x, weights, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False)  # CUDA
    plan = torch.ops.pammcuda.prepare_products(storage, rows, cols, ratio, k, dtype, alpha_dtype)             # CUDA
    out = torch.ops.pammcuda.approx_matmul(storage, plan, grad, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype)
    outs = torch.ops.pammcuda.approx_matmul_batch(storage, plan, grads, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype)

x is a contiguous (rows, cols) matrix and grad a (rows, m) one; seed a 0-d int64 tensor (drawn inside a compiled graph like any random number);
ratio and k are PammOptions' (k = 0: from the ratio), and every op resolves the same k from them and the rows; dtype is
x's; layout is GRADIENT_BY_INPUT (out is grad^T x, a weight gradient) or INPUT_BY_GRADIENT (x^T grad). plan is None,
or what prepare_products built for this storage, so that the products of Q, K and V group the rows once.
approx_matmul_batch is approx_matmul of each of 1 to 3 gradients of one dtype (Q's, K's and V's), each output bitwise
the same: on CUDA one library call, each stage one launch for all of them.
"""

import torch

from . import _native, backend

_LIBRARY = torch.library.Library("pammcuda", "DEF")

_SCHEMAS = {
    "compress": "compress(Tensor x, Tensor seed, float ratio, int k, float epsilon, ScalarType alpha_dtype, "
                "bool refine_generators=False) -> Tensor",
    "project_and_compress": "project_and_compress(Tensor x, Tensor[] weights, Tensor seed, float ratio, int k, float epsilon, "
                            "ScalarType alpha_dtype, bool refine_generators=False) -> (Tensor[], Tensor)",
    "prepare_products": "prepare_products(Tensor storage, int rows, int cols, float ratio, int k, ScalarType dtype, "
                        "ScalarType alpha_dtype) -> Tensor",
    "approx_matmul": "approx_matmul(Tensor storage, Tensor? plan, Tensor grad, int rows, int cols, float ratio, int k, ScalarType dtype, "
                     "ScalarType alpha_dtype, int layout, ScalarType out_dtype) -> Tensor",
    "approx_matmul_batch": "approx_matmul_batch(Tensor storage, Tensor? plan, Tensor[] grads, int rows, int cols, float ratio, int k, "
                           "ScalarType dtype, ScalarType alpha_dtype, int layout, ScalarType out_dtype) -> Tensor[]",
}


def _options(seed, ratio, k, epsilon, alpha_dtype, refine_generators):
    # The int64 tensor holds the bits of the unsigned 64-bit seed (see modules._Sampling.next_seed).
    return backend.PammOptions(ratio=ratio, k=k, epsilon=epsilon, seed=int(seed) % 2**64, alpha_dtype=alpha_dtype,
                               refine_generators=refine_generators)


def resolved_k(ratio, k, rows):
    """k for a compression of `rows` rows with PammOptions' ratio and k (k = 0: from the ratio)."""
    # int(): under torch.compile with dynamic shapes, rows may be symbolic; the library needs the number.
    return backend.resolve_k(backend.PammOptions(ratio=ratio, k=k), int(rows))


def _check_seed(seed):
    if not isinstance(seed, torch.Tensor) or seed.dim() != 0 or seed.dtype != torch.int64 or seed.device.type not in ("cpu", "meta"):
        raise TypeError(f"seed must be a 0-d torch.int64 CPU tensor, got {seed!r}")


def _compress(x, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False):
    _check_seed(seed)
    return backend.compress(x, _options(seed, ratio, k, epsilon, alpha_dtype, refine_generators)).storage


def _compress_fake(x, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False):
    rows, cols = int(x.shape[0]), int(x.shape[1])
    return x.new_empty(backend.storage_bytes(rows, cols, resolved_k(ratio, k, rows), x.dtype, alpha_dtype), dtype=torch.uint8)


def _project_and_compress(x, weights, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False):
    _check_seed(seed)
    outputs, compressed = backend.project_and_compress(x, list(weights), _options(seed, ratio, k, epsilon, alpha_dtype, refine_generators))
    return outputs, compressed.storage


def _project_and_compress_fake(x, weights, seed, ratio, k, epsilon, alpha_dtype, refine_generators=False):
    rows, cols = int(x.shape[0]), int(x.shape[1])
    outputs = [x.new_empty((rows, int(w.shape[0]))) for w in weights]
    storage = x.new_empty(backend.storage_bytes(rows, cols, resolved_k(ratio, k, rows), x.dtype, alpha_dtype), dtype=torch.uint8)
    return outputs, storage


def _prepare_products(storage, rows, cols, ratio, k, dtype, alpha_dtype):
    if not storage.is_cuda:
        raise ValueError(f"storage is on {storage.device}; product plans are for CUDA storage (the CPU backend multiplies without one)")
    return backend.open_compressed(storage, rows, cols, resolved_k(ratio, k, rows), dtype, alpha_dtype).prepare_products()


def _prepare_products_fake(storage, rows, cols, ratio, k, dtype, alpha_dtype):
    return storage.new_empty(backend.product_plan_bytes(int(rows), int(cols), resolved_k(ratio, k, rows), dtype))


def _check_grad(grad, rows):
    # The storage's layout (where f and alpha start) follows from rows: a grad of other rows would read it as another
    # compression's, so the rows are given with the storage and grad must match them.
    if grad.dim() != 2 or grad.shape[0] != rows:
        raise ValueError(f"grad must be a 2-D tensor of the compressed input's {rows} rows, got shape {tuple(grad.shape)}")


def _approx_matmul(storage, plan, grad, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype):
    _check_grad(grad, rows)
    compressed = backend.open_compressed(storage, rows, cols, resolved_k(ratio, k, rows), dtype, alpha_dtype, plan)
    return compressed.matmul(grad, layout=layout, out_dtype=out_dtype)


def _approx_matmul_fake(storage, plan, grad, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype):
    _check_grad(grad, rows)
    m = grad.shape[1]
    shape = (m, cols) if layout == _native.GRADIENT_BY_INPUT else (cols, m)
    return grad.new_empty(shape, dtype=out_dtype)


def _approx_matmul_batch(storage, plan, grads, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype):
    for grad in grads:
        _check_grad(grad, rows)
    compressed = backend.open_compressed(storage, rows, cols, resolved_k(ratio, k, rows), dtype, alpha_dtype, plan)
    return compressed.matmul_batch(grads, layout=layout, out_dtype=out_dtype)


def _approx_matmul_batch_fake(storage, plan, grads, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype):
    return [_approx_matmul_fake(storage, plan, grad, rows, cols, ratio, k, dtype, alpha_dtype, layout, out_dtype) for grad in grads]


def _register(name, kernel, fake):
    _LIBRARY.define(_SCHEMAS[name])
    for dispatch_key in ("CPU", "CUDA"):
        _LIBRARY.impl(name, kernel, dispatch_key)
    if hasattr(torch.library, "register_fake"):  # torch >= 2.4: what FakeTensorMode and torch.compile call
        torch.library.register_fake(f"pammcuda::{name}", fake, lib=_LIBRARY)
    else:  # torch 1.13 to 2.3: a Meta kernel (shape inference on meta tensors)
        _LIBRARY.impl(name, fake, "Meta")


_register("compress", _compress, _compress_fake)
_register("project_and_compress", _project_and_compress, _project_and_compress_fake)
_register("prepare_products", _prepare_products, _prepare_products_fake)
_register("approx_matmul", _approx_matmul, _approx_matmul_fake)
_register("approx_matmul_batch", _approx_matmul_batch, _approx_matmul_batch_fake)

compress = torch.ops.pammcuda.compress
project_and_compress = torch.ops.pammcuda.project_and_compress
prepare_products = torch.ops.pammcuda.prepare_products
approx_matmul = torch.ops.pammcuda.approx_matmul
approx_matmul_batch = torch.ops.pammcuda.approx_matmul_batch
