"""
Autograd functions whose backward computes weight gradients from a compressed input.

PammLinearFunction and PammQKVFunction keep the compression as what the pammcuda ops return, a uint8 storage tensor
saved for backward, and its description as plain values on the context, so torch.compile can trace them;
PammProjectionFunction (pammcuda.convert's siblings, which share one compression object) keeps a Compressed.
"""

import typing

import torch

from . import _native, _side_stream, backend, ops


def _rows(tensor):
    """A (..., features) tensor as a contiguous 2-D (tokens, features) matrix."""
    return tensor.reshape(-1, tensor.shape[-1]).contiguous()


class _StorageShape(typing.NamedTuple):
    """What, besides its storage tensor, describes a compression made by the ops: the input's shape and dtype and the options."""

    rows: int
    cols: int
    ratio: float
    k: int
    dtype: torch.dtype
    alpha_dtype: torch.dtype

    @classmethod
    def of(cls, x2d, options):
        """The shape of the compression of the (tokens, features) matrix x2d with `options`."""
        return cls(x2d.shape[0], x2d.shape[1], options.ratio, options.k, x2d.dtype, options.alpha_dtype)


def _refuse_double_backward():
    """
    PAMM's weight gradient comes from the library, outside autograd: with create_graph=True (double backward, e.g. a
    gradient penalty) it would silently be a constant. Refused instead; the input gradient alone would be differentiable.
    """
    if torch.is_grad_enabled():
        raise RuntimeError("PAMM layers do not support double backward: their weight gradient is not differentiable "
                           "(backward was called with create_graph=True)")


def _product(shape, storage, plan, grad, out_dtype):
    """The weight gradient grad^T x ([out, in]) from the storage of x."""
    _refuse_double_backward()
    return ops.approx_matmul(storage, plan, grad, shape.rows, shape.cols, shape.ratio, shape.k, shape.dtype, shape.alpha_dtype,
                             _native.GRADIENT_BY_INPUT, out_dtype)


def _products(shape, storage, plan, grads, out_dtypes):
    """
    The weight gradients grad_i^T x of several gradients of one input (Q's, K's, V's): one batched op, on CUDA one pass
    for all of them, where they share a dtype and their outputs one; else one product each. The same values either way.
    """
    _refuse_double_backward()
    if len({g.dtype for g in grads}) == 1 and len(set(out_dtypes)) == 1:
        return ops.approx_matmul_batch(storage, plan, grads, shape.rows, shape.cols, shape.ratio, shape.k, shape.dtype, shape.alpha_dtype,
                                       _native.GRADIENT_BY_INPUT, out_dtypes[0])
    return [_product(shape, storage, plan, g, out_dtype) for g, out_dtype in zip(grads, out_dtypes)]


def _plan(shape, storage):
    """The plan the products of Q, K and V share on CUDA (the rows grouped once); None on the CPU, which needs none."""
    if not storage.is_cuda:
        return None
    return ops.prepare_products(storage, shape.rows, shape.cols, shape.ratio, shape.k, shape.dtype, shape.alpha_dtype)


def _compress(ctx, x2d, options, seed):
    """Compresses x2d with the ops; the storage is the caller's to save for backward, its shape goes on ctx."""
    ctx.storage_shape = _StorageShape.of(x2d, options)
    return ops.compress(x2d, seed, options.ratio, options.k, options.epsilon, options.alpha_dtype, options.refine_generators)


def _project_and_compress_separately(ctx, x, project, options, seed, overlap_compression):
    """
    (project(), the storage of x's compression). The projection runs first, so that a shape or dtype mismatch raises
    nn.Linear's own error before anything is compressed; with overlap_compression, where _side_stream.overlaps(x), the
    compression runs beside it on a second stream instead (the same values: the error comes from the projection, and the
    compression reads only x).
    """
    x2d = _rows(x)
    compress = lambda: _compress(ctx, x2d, options, seed)
    if overlap_compression and _side_stream.overlaps(x):
        return _side_stream.run_beside(project, compress, x.device)
    projected = project()
    return projected, compress()


def saved_compression(node):
    """
    The compressed input that an autograd node of the PAMM layers keeps for backward (`output.grad_fn`), as a
    backend.Compressed (k, stored_bytes, dense_bytes, alpha_dtype, storage, matmul, ...), or None when the node keeps
    none (no weight gradient was needed). For reports and tests: call it before backward, which frees the storage
    tensor that PammLinear and PammQKV save. (A converted projection's node holds its siblings' shared compression as
    an attribute instead, so that the first product's plan serves them all; that one lives as long as the node does.)
    """
    compressed = getattr(node, "compressed", None)  # PammProjectionFunction's shared object
    if compressed is not None:
        return compressed
    shape = getattr(node, "storage_shape", None)
    if shape is None:
        return None
    storage = node.saved_tensors[-1]
    return backend.open_compressed(storage, shape.rows, shape.cols, ops.resolved_k(shape.ratio, shape.k, shape.rows), shape.dtype,
                                   shape.alpha_dtype)


class PammLinearFunction(torch.autograd.Function):
    """
    y = x W^T + b, exactly. The graph keeps W and the compressed x (never x itself); backward gives
    dL/dx = G W exactly and dL/dW ~ G^T x by PAMM. options is a PammOptions (its seed unused), seed a 0-d int64 tensor.
    overlap_compression=True compresses x on a second CUDA stream beside the product (see PammLinear).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, options, seed, overlap_compression=False):
        ctx.input_shape = x.shape
        if not ctx.needs_input_grad[1]:
            ctx.save_for_backward(weight)
            return torch.nn.functional.linear(x, weight, bias)
        project = lambda: torch.nn.functional.linear(x, weight, bias)
        output, storage = _project_and_compress_separately(ctx, x, project, options, seed, overlap_compression)
        ctx.save_for_backward(weight, storage)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        weight = ctx.saved_tensors[0]
        g = _rows(grad_output)
        grad_x = (g @ weight.to(g.dtype)).reshape(ctx.input_shape) if ctx.needs_input_grad[0] else None
        grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = _product(ctx.storage_shape, ctx.saved_tensors[1], None, g, weight.dtype)
        grad_bias = g.sum(0).to(weight.dtype) if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias, None, None, None


class PammProjectionFunction(torch.autograd.Function):
    """
    One projection of x, exactly: x W^T + b for an nn.Linear weight [out, in], or x W + b for a transposed weight
    [in, out] (transformers' Conv1D). Its compressed input comes from `compress(x)`, a callable that may hand out a
    compression it already made of the same x for a sibling projection: that is how sibling layers share one.
    The graph keeps W and the compressed x; backward gives dL/dx exactly and dL/dW by PAMM.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, compress, transposed_weight):
        if transposed_weight:
            rows = x.reshape(-1, x.shape[-1])
            product = torch.addmm(bias, rows, weight) if bias is not None else rows @ weight
            output = product.view(*x.shape[:-1], weight.shape[1])
        else:
            output = torch.nn.functional.linear(x, weight, bias)
        # Compressed after the exact output so that a shape or dtype mismatch raises nn.Linear's own error first.
        ctx.compressed = compress(x) if ctx.needs_input_grad[1] else None
        ctx.input_shape = x.shape
        ctx.transposed_weight = transposed_weight
        ctx.save_for_backward(weight)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        g = _rows(grad_output)
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = (g @ (weight.T if ctx.transposed_weight else weight)).reshape(ctx.input_shape)
        if ctx.needs_input_grad[1]:
            # [in, out] is X^T G, [out, in] is G^T X: the library writes either layout directly.
            layout = _native.INPUT_BY_GRADIENT if ctx.transposed_weight else _native.GRADIENT_BY_INPUT
            _refuse_double_backward()
            grad_weight = ctx.compressed.matmul(g, layout=layout, out_dtype=weight.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = g.sum(0)
        return grad_x, grad_weight, grad_bias, None, None


def _fuses_projection(x, weights, biases):
    """
    Whether PammQKVFunction can take the one-GEMM path (backend.project_and_compress) when asked to: x on CUDA, no bias
    (the library's GEMM adds none, and adding one afterwards would round twice where F.linear rounds once), and weights
    of x's dtype and device (after autocast's casts), 2-D and as wide as x. Anything else takes the three-linear path.
    """
    if not x.is_cuda or x.dtype not in backend.SUPPORTED_DTYPES or any(bias is not None for bias in biases):
        return False
    return all(w.dim() == 2 and w.shape[1] == x.shape[-1] and w.dtype == x.dtype and w.device == x.device for w in weights)


# The one-GEMM projection and compression; a module attribute so that tests can stand in for it where there is no GPU.
_project_and_compress = ops.project_and_compress


class PammQKVFunction(torch.autograd.Function):
    """
    q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv. One compression of x serves the three weight
    gradients in backward (on CUDA one batched pass over one plan of it: the rows are grouped once, and each stage is one
    launch for the three products). options and seed as for
    PammLinearFunction. fused_projection=True: where _fuses_projection allows, q, k, v and the compression come from one
    GEMM of x with [Wq; Wk; Wv; C] (see PammQKV); else three linears and a compression, with overlap_compression=True on
    a second CUDA stream beside the linears.
    """

    @staticmethod
    def forward(ctx, x, wq, wk, wv, bq, bk, bv, options, seed, fused_projection=False, overlap_compression=False):
        weights = (wq, wk, wv)
        ctx.input_shape = x.shape
        if not any(ctx.needs_input_grad[1:4]):
            ctx.save_for_backward(*weights)
            linear = torch.nn.functional.linear
            return linear(x, wq, bq), linear(x, wk, bk), linear(x, wv, bv)
        if fused_projection and _fuses_projection(x, weights, (bq, bk, bv)):
            # One GEMM of x with [Wq; Wk; Wv; C]: the exact projections and the compression from one read of x. q, k and
            # v come back in allocations of their own, as three linears give them: attention keeps v for backward, and
            # views of one output would keep q and k alive with it.
            x2d = _rows(x)
            ctx.storage_shape = _StorageShape.of(x2d, options)
            outputs, storage = _project_and_compress(x2d, list(weights), seed, options.ratio, options.k, options.epsilon,
                                                     options.alpha_dtype, options.refine_generators)
            ctx.save_for_backward(*weights, storage)
            return tuple(output.view(*x.shape[:-1], output.shape[1]) for output in outputs)
        linear = torch.nn.functional.linear
        project = lambda: (linear(x, wq, bq), linear(x, wk, bk), linear(x, wv, bv))
        outputs, storage = _project_and_compress_separately(ctx, x, project, options, seed, overlap_compression)
        ctx.save_for_backward(*weights, storage)
        return outputs

    @staticmethod
    def backward(ctx, grad_q, grad_k, grad_v):
        weights = ctx.saved_tensors[:3]
        grads = [_rows(g) for g in (grad_q, grad_k, grad_v)]
        grad_x = None
        if ctx.needs_input_grad[0]:
            # Accumulated by the GEMMs themselves (addmm_ with beta 1): no (tokens, features) temporaries to add.
            grad_x = grads[0] @ weights[0].to(grads[0].dtype)
            for g, w in zip(grads[1:], weights[1:]):
                grad_x.addmm_(g, w.to(g.dtype))
            grad_x = grad_x.reshape(ctx.input_shape)
        weight_grads = [None, None, None]
        if any(ctx.needs_input_grad[1:4]):
            storage = ctx.saved_tensors[3]
            plan = _plan(ctx.storage_shape, storage)
            wanted = [i for i, needed in enumerate(ctx.needs_input_grad[1:4]) if needed]
            products = _products(ctx.storage_shape, storage, plan, [grads[i] for i in wanted], [weights[i].dtype for i in wanted])
            for i, product in zip(wanted, products):
                weight_grads[i] = product
        bias_grads = [
            g.sum(0).to(w.dtype) if needed else None
            for g, w, needed in zip(grads, weights, ctx.needs_input_grad[4:7])
        ]
        return (grad_x, *weight_grads, *bias_grads, None, None, None, None)
