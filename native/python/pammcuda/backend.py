"""
PAMM on torch tensors: compress an activation, then approximate X^T G from it, on the CPU or on CUDA.

All the memory PAMM keeps or uses is torch's: the compressed form lives in a uint8 `storage` tensor that the
Compressed object holds, and on CUDA the scratch of each call is a `workspace` tensor, both allocated on the current
stream through PyTorch's caching allocator, so torch.cuda.max_memory_allocated() counts them. Nothing here waits for
the device except Compressed.read_dropped_rows(), which says so.
"""

import ctypes
import dataclasses
import functools
import math
import operator
import threading

import torch

from . import _compat, _native

_DTYPES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}

# The dtypes of X, G and the products that the library takes.
SUPPORTED_DTYPES = tuple(_DTYPES)


@dataclasses.dataclass(frozen=True)
class PammOptions:
    """
    How activations are compressed (pamm_options): a ratio or an explicit k, epsilon, the sampling seed, and how the
    coefficients alpha are stored (torch.float32, or torch.bfloat16 for 2 bytes a row instead of 4). refine_generators=True
    refines the generators after the assignment (beyond the paper's PAMM; pamm.h's pamm_options.refine_generators).
    """

    ratio: float = 1.0 / 512.0
    k: int = 0
    epsilon: float = math.inf
    seed: int = 0
    alpha_dtype: torch.dtype = torch.float32
    refine_generators: bool = False

    def to_native(self):
        seed = _unsigned_seed(self.seed)
        options = _native.Options()
        _native.check(_native.lib().pamm_options_init(ctypes.byref(options)))
        options.ratio, options.k, options.epsilon, options.seed = self.ratio, self.k, self.epsilon, seed
        options.alpha_dtype = dtype_code(self.alpha_dtype, "alpha_dtype")
        options.refine_generators = 1 if self.refine_generators else 0
        return options


def _unsigned_seed(seed):
    """The seed as pamm_options' uint64; ctypes would wrap a negative or wider one silently into another seed."""
    if isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= value < 2**64:
        raise ValueError(f"seed must be in [0, 2^64), got {value}")
    return value


def dtype_code(dtype, name):
    """The pamm_dtype of a torch dtype; TypeError naming the argument for any other."""
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise TypeError(f"{name} is {dtype}; PAMM takes float32, float16 or bfloat16") from None


def check_not_dtensor(tensor, name):
    """TypeError naming the argument for a DTensor, which has no data of its own for the library to read."""
    if _compat.is_dtensor(tensor):
        raise TypeError(f"{name} is a DTensor (placements {tuple(tensor.placements)}); PAMM's layers and functions read "
                        f"plain CPU or CUDA tensors. Data parallelism (DDP, FSDP2's fully_shard) hands the layers plain "
                        f"tensors; under tensor parallelism convert the model's nn.Linear projections with "
                        f"pammcuda.convert and shard them with ColwiseParallel")


def _check_tensor(tensor, name):
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    check_not_dtensor(tensor, name)


def _check_matrix(tensor, name):
    """A dense row-major 2-D tensor of a PAMM dtype: what the library can read through its pointer."""
    _check_tensor(tensor, name)
    if tensor.dim() != 2 or not tensor.is_contiguous():
        raise ValueError(f"{name} must be a contiguous 2-D tensor, got shape {tuple(tensor.shape)} with strides {tensor.stride()} "
                         f"(row-major with unit stride is needed: pass {name}.contiguous())")
    dtype_code(tensor.dtype, name)


def _check_runs_here(tensor, name):
    if tensor.device.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} is on {tensor.device}; PAMM runs on CPU and CUDA tensors")


def _check_block(block, name, device, needed, size_function):
    """A caller's storage or workspace: a contiguous uint8 tensor on `device` of at least `needed` bytes."""
    _check_tensor(block, name)
    if block.dtype != torch.uint8:
        raise TypeError(f"{name} must be a torch.uint8 tensor (raw bytes), got {block.dtype}")
    if not block.is_contiguous():
        raise ValueError(f"{name} must be contiguous; it has strides {block.stride()}")
    if block.device != device:
        raise ValueError(f"{name} is on {block.device}, the data on {device}")
    if block.numel() < needed:
        raise ValueError(f"{name} holds {block.numel()} bytes; these shapes need {needed} ({size_function})")


def _new_block(bytes_, device):
    # On CUDA: the caching allocator, on the current stream, so PyTorch's memory statistics see it.
    return torch.empty(max(bytes_, 1), dtype=torch.uint8, device=device)


# The sizes and k below are pure functions of their arguments (the library's layout), asked for at every compression and
# product with the same few shapes: each is cached, so a training step makes one library call per kernel it queues
# rather than six. A refused argument raises and is not cached.
_layout_cache = functools.lru_cache(maxsize=4096)


@_layout_cache
def _size(function_name, *arguments):
    value = ctypes.c_size_t()
    _native.check(getattr(_native.lib(), function_name)(*arguments, ctypes.byref(value)))
    return value.value


@_layout_cache
def _resolve_k(options, rows):
    # The library checks every option here, so a bad one is refused under its name (options->...) before any work.
    resolved = ctypes.c_int32()
    _native.check(_native.lib().pamm_resolve_k(ctypes.byref(options.to_native()), rows, ctypes.byref(resolved)))
    return resolved.value


def resolve_k(options, rows):
    """The number of generators `options` gives for `rows` rows."""
    # The seed changes at every step and k does not depend on it: leave it out of the cache key.
    return _resolve_k(dataclasses.replace(options, seed=0) if options.seed else options, rows)


def storage_bytes(rows, cols, k, dtype, alpha_dtype=torch.float32):
    """Bytes of the storage a compressed rows x cols activation with k generators of `dtype` (alpha as `alpha_dtype`) lives in."""
    return _size("pamm_compressed_storage_bytes", rows, cols, k, dtype_code(dtype, "dtype"), dtype_code(alpha_dtype, "alpha_dtype"))


def compress_workspace_bytes(rows, cols, k, dtype):
    """Bytes of workspace a CUDA compression of rows x cols to k generators uses."""
    return _size("pamm_compress_workspace_bytes", rows, cols, k, dtype_code(dtype, "dtype"))


def matmul_workspace_bytes(rows, cols, k, dtype, grad_cols, out_dtype, planned=False):
    """
    Bytes of workspace a CUDA product of a compressed rows x cols activation with a rows x grad_cols gradient uses.
    planned=True: the compression has its products' plan (a CUDA Compressed builds it before its first product), so the
    product needs no room to group the rows, and this is less by about product_plan_bytes.
    """
    function = "pamm_planned_matmul_workspace_bytes" if planned else "pamm_approx_matmul_workspace_bytes"
    return _size(function, rows, cols, k, dtype_code(dtype, "dtype"), grad_cols, dtype_code(out_dtype, "out_dtype"))


def matmul_batch_workspace_bytes(rows, cols, k, dtype, grad_cols, planned=False):
    """
    Bytes of workspace Compressed.matmul_batch uses on CUDA for gradients of grad_cols (a sequence of column counts, one
    per product) and a compressed rows x cols activation: about what one product as wide as all of them needs.
    planned as for matmul_workspace_bytes.
    """
    return _batch_size(rows, cols, k, dtype_code(dtype, "dtype"), tuple(int(m) for m in grad_cols), 1 if planned else 0)


@_layout_cache
def _batch_size(rows, cols, k, dtype, grad_cols, planned):
    # _size's cache keys on its arguments, which a ctypes array is not: the widths come as a tuple.
    value = ctypes.c_size_t()
    widths = (ctypes.c_int32 * len(grad_cols))(*grad_cols)
    _native.check(_native.lib().pamm_approx_matmul_batch_workspace_bytes(rows, cols, k, dtype, len(grad_cols), widths, planned,
                                                                         ctypes.byref(value)))
    return value.value


def product_plan_bytes(rows, cols, k, dtype):
    """
    Bytes of the plan the CUDA products of one compressed rows x cols activation share (its rows grouped by
    generator): built at the first product, so Q, K and V sort once.
    """
    return _size("pamm_product_plan_bytes", rows, cols, k, dtype_code(dtype, "dtype"))


class _Engine:
    """A pamm_engine on one CUDA device and stream, destroyed with its last user. Options are given per compression."""

    def __init__(self, device_index, stream):
        self._lib = _native.lib()
        self.stream = stream
        handle = ctypes.c_void_p()
        _native.check(self._lib.pamm_engine_create(device_index, stream.cuda_stream, ctypes.byref(PammOptions().to_native()),
                                                   ctypes.byref(handle)))
        self.handle = handle

    def __del__(self):
        if getattr(self, "handle", None):
            self._lib.pamm_engine_destroy(self.handle)


_engines = {}
_engines_lock = threading.Lock()


def _engine_for(device):
    """
    The engine for (device, PyTorch's current stream there). The library shares one device object among them, so
    kernels are loaded and cuBLAS is set up once per GPU, and an engine of another stream allocates nothing and waits for
    nothing: a CUDA graph may be captured on a stream PAMM has not seen, once one step has run on the GPU (on any stream).
    Threads share it (the caller's and autograd's device thread, which see the same current stream), although pamm.h
    says one engine serves one thread at a time: every call this package makes brings its own storage, plan and
    workspace tensors, so no call touches the engine's own scratch, which is all of its mutable state.
    """
    stream = torch.cuda.current_stream(device)
    key = (device.index, stream.cuda_stream)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            if torch.cuda.is_current_stream_capturing() and not any(index == device.index for index, _ in _engines):
                # Checked before any CUDA call: opening the GPU (compiling and loading kernels, setting up cuBLAS) inside a
                # capture would break it with an error of the driver's.
                raise RuntimeError(
                    f"PAMM has not run on {device} yet, and its first use there loads kernels and sets up cuBLAS, which CUDA "
                    "graph capture forbids. Warm up before capturing: run one step outside the capture (on any stream), as "
                    "torch.cuda.graph's documentation does for every library.")
            engine = _engines[key] = _Engine(device.index, stream)
        return engine


class Compressed:
    """
    A compressed activation: a pamm_compressed handle over `storage`, a uint8 tensor this object keeps alive (on CUDA
    allocated through PyTorch's caching allocator, so memory statistics count it). Autograd keeps this object on the
    graph node, so the storage lives exactly as long as the graph that needs it; freeing the handle waits for nothing.
    """

    def __init__(self, handle, engine, device, rows, cols, k, dtype, alpha_dtype, storage):
        self._lib = _native.lib()
        self._handle = handle
        self._engine = engine  # the engine that compressed it (None on the CPU)
        self.device = device
        self.rows, self.cols, self.k = rows, cols, k
        self.dtype, self.alpha_dtype = dtype, alpha_dtype  # of the input, and of the coefficients alpha
        self.storage = storage
        self.plan = None  # on CUDA, the products' shared plan: a uint8 tensor made by the first product

    @property
    def stored_bytes(self):
        """Bytes kept, everything counted (storage adds at most 768 alignment bytes)."""
        return self.info().stored_bytes

    @property
    def dense_bytes(self):
        """Bytes the input itself would take."""
        return self.info().dense_bytes

    def info(self):
        """pamm_compressed_info; never waits. Its dropped_rows is -1 for a CUDA activation until read_dropped_rows()."""
        info = _native.CompressedInfo()
        _native.check(self._lib.pamm_compressed_get_info(self._handle, ctypes.byref(info)))
        return info

    def read_dropped_rows(self):
        """
        The rows the epsilon condition dropped. On CUDA this WAITS for the compression to finish (the count stays on
        the device, where products apply beta without it): call it for reports, never inside a training step.
        """
        dropped = ctypes.c_int32()
        _native.check(self._lib.pamm_compressed_read_dropped_rows(self._handle, ctypes.byref(dropped)))
        return dropped.value

    def matmul(self, grad, layout=_native.GRADIENT_BY_INPUT, out_dtype=None, *, workspace=None):
        """
        The approximate product with grad (rows x m): G^T X (m x cols, the [out, in] layout of a weight
        gradient) by default, or X^T G (cols x m) with layout=INPUT_BY_GRADIENT, as a new tensor. On CUDA it runs
        on the current stream, with scratch from `workspace` (a uint8 tensor of at least matmul_workspace_bytes(...,
        planned=True) that is free for use on the current stream: allocated there, or record_stream'ed by the caller) or
        a new one from the caching allocator; on the CPU no workspace is used (one given is checked only). The first CUDA product also
        builds the plan every later product of this compression reuses (`plan`, a tensor of product_plan_bytes from the
        caching allocator, freed with this object), so the products of Q, K and V sort the rows once.
        """
        self._check_gradient(grad, "grad")
        out_dtype = out_dtype or grad.dtype
        out_code = dtype_code(out_dtype, "out")
        m = grad.shape[1]
        # On CUDA the plan is built before the product, which then needs no room to group the rows.
        needed = matmul_workspace_bytes(self.rows, self.cols, self.k, self.dtype, m, out_dtype, planned=self._engine is not None)
        if workspace is not None:
            _check_block(workspace, "workspace", self.device, needed, "pammcuda.matmul_workspace_bytes")
        if self._engine is not None:
            return self._device_products([grad], layout, out_dtype, workspace, needed)[0]
        out = self._new_output(m, layout, out_dtype)
        _native.check(self._lib.pamm_cpu_approx_matmul(self._handle, ctypes.c_void_p(grad.data_ptr()), m, dtype_code(grad.dtype, "grad"),
                                                       ctypes.c_void_p(out.data_ptr()), out_code, layout, 1.0, 0.0))
        return out

    def matmul_batch(self, grads, layout=_native.GRADIENT_BY_INPUT, out_dtype=None, *, workspace=None):
        """
        matmul of each gradient of `grads` (1 to MAX_BATCHED_PRODUCTS tensors of this activation's rows, one dtype; their
        columns may differ), as a list of new tensors: the weight gradients of Q, K and V, whose projections share this
        input. On CUDA one library call computes them all, each stage one launch for every product (the plan built first
        if there is none), and each result is bitwise what matmul gives for its gradient; `workspace` as for matmul, of at
        least matmul_batch_workspace_bytes(..., planned=True). On the CPU the products run one after another.
        """
        grads = list(grads)
        if not 1 <= len(grads) <= _native.MAX_BATCHED_PRODUCTS:
            raise ValueError(f"grads holds {len(grads)} tensors; a batch takes 1 to {_native.MAX_BATCHED_PRODUCTS}")
        for index, grad in enumerate(grads):
            self._check_gradient(grad, f"grads[{index}]")
            if grad.dtype != grads[0].dtype:
                raise ValueError(f"grads[{index}] is {grad.dtype}, grads[0] {grads[0].dtype}: a batch's gradients share one dtype")
        out_dtype = out_dtype or grads[0].dtype
        dtype_code(out_dtype, "out")
        widths = [grad.shape[1] for grad in grads]
        needed = matmul_batch_workspace_bytes(self.rows, self.cols, self.k, self.dtype, widths, planned=self._engine is not None)
        if workspace is not None:
            _check_block(workspace, "workspace", self.device, needed, "pammcuda.matmul_batch_workspace_bytes")
        if self._engine is None:
            return [self.matmul(grad, layout, out_dtype) for grad in grads]
        return self._device_products(grads, layout, out_dtype, workspace, needed)

    def _new_output(self, m, layout, out_dtype):
        shape = (m, self.cols) if layout == _native.GRADIENT_BY_INPUT else (self.cols, m)
        return torch.empty(shape, dtype=out_dtype, device=self.device)

    def _device_products(self, grads, layout, out_dtype, workspace, needed):
        """
        The CUDA products of checked gradients of one dtype, as new tensors: one pamm_approx_matmul_batch on the current
        stream (a single product is a batch of one), the plan built first if there is none, scratch from `workspace` or
        a new block of `needed` bytes.
        """
        outs = [self._new_output(grad.shape[1], layout, out_dtype) for grad in grads]
        engine = self._engine_for_products()
        self._plan_on(engine).record_stream(engine.stream)
        if workspace is None:
            workspace = _new_block(needed, self.device)
        count = len(grads)
        _native.check(self._lib.pamm_approx_matmul_batch(
            engine.handle, self._handle, count, (ctypes.c_void_p * count)(*(grad.data_ptr() for grad in grads)),
            (ctypes.c_int32 * count)(*(grad.shape[1] for grad in grads)), dtype_code(grads[0].dtype, "grad"),
            (ctypes.c_void_p * count)(*(out.data_ptr() for out in outs)), dtype_code(out_dtype, "out"), layout, 1.0, 0.0,
            ctypes.c_void_p(workspace.data_ptr()), workspace.numel()))
        return outs

    def _check_gradient(self, grad, name):
        """A gradient this activation can multiply: a matrix of its rows on its device."""
        _check_matrix(grad, name)
        if grad.device != self.device:
            raise ValueError(f"{name} is on {grad.device}, the compressed activation on {self.device}")
        if grad.shape[0] != self.rows:
            raise ValueError(f"{name} has {grad.shape[0]} rows, the compressed activation {self.rows}")

    def prepare_products(self):
        """
        On CUDA, builds now (on the current stream, never waiting) the plan every product of this compression shares, if
        it has none yet, and returns it (`plan`); the first product calls this itself. On the CPU there is no plan: None.
        """
        if self._engine is None:
            return None
        return self._plan_on(self._engine_for_products())

    def _plan_on(self, engine):
        """The plan, built first on `engine`'s stream if there is none yet."""
        if self.plan is None:
            plan = _new_block(product_plan_bytes(self.rows, self.cols, self.k, self.dtype), self.device)
            _native.check(self._lib.pamm_compressed_prepare_products(engine.handle, self._handle, ctypes.c_void_p(plan.data_ptr()),
                                                                     plan.numel()))
            self.plan = plan
        return self.plan

    def _engine_for_products(self):
        engine = _engine_for(self.device)
        # The caching allocator must not give the storage (or the plan, which matmul records) to another allocation
        # before this product's stream has read it. Recorded on every product's stream, not only when it differs from
        # the compression's: storage opened from the ops (open_compressed) may have been allocated on any stream, and
        # recording the allocating stream itself costs nothing.
        self.storage.record_stream(engine.stream)
        return engine

    def __del__(self):
        if getattr(self, "_handle", None):
            self._lib.pamm_compressed_free(self._handle)


def open_compressed(storage, rows, cols, k, dtype, alpha_dtype=torch.float32, plan=None):
    """
    The compressed activation that `storage` holds (the uint8 tensor a compression of a rows x cols `dtype` input to k
    generators wrote, e.g. Compressed.storage or what the pammcuda::compress op returns), opened again from its shape
    alone, without copying or waiting; `plan` is a plan built for this storage (Compressed.plan, the
    pammcuda::prepare_products op) or None. The result keeps both tensors alive and multiplies exactly as the
    compression that wrote them. The storage's bytes are not checked (that would read the device): storage that holds
    no such compression gives meaningless products.
    """
    _check_tensor(storage, "storage")
    _check_runs_here(storage, "storage")
    needed = storage_bytes(rows, cols, k, dtype, alpha_dtype)
    _check_block(storage, "storage", storage.device, needed, "pammcuda.storage_bytes")
    handle = ctypes.c_void_p()
    library = _native.lib()
    codes = (rows, cols, k, dtype_code(dtype, "dtype"), dtype_code(alpha_dtype, "alpha_dtype"))
    if not storage.is_cuda:
        if plan is not None:
            raise ValueError("plan is given for CPU storage; the CPU backend multiplies without a plan")
        _native.check(library.pamm_cpu_compressed_open(ctypes.c_void_p(storage.data_ptr()), storage.numel(), *codes, ctypes.byref(handle)))
        return Compressed(handle, None, storage.device, rows, cols, k, dtype, alpha_dtype, storage)
    if plan is not None:
        _check_block(plan, "plan", storage.device, product_plan_bytes(rows, cols, k, dtype), "pammcuda.product_plan_bytes")
    engine = _engine_for(storage.device)
    plan_pointer, plan_bytes = (ctypes.c_void_p(plan.data_ptr()), plan.numel()) if plan is not None else (None, 0)
    _native.check(library.pamm_compressed_open(engine.handle, ctypes.c_void_p(storage.data_ptr()), storage.numel(), *codes,
                                               plan_pointer, plan_bytes, ctypes.byref(handle)))
    compressed = Compressed(handle, engine, storage.device, rows, cols, k, dtype, alpha_dtype, storage)
    compressed.plan = plan
    return compressed


def compress(x, options=PammOptions(), *, storage=None, workspace=None):
    """
    Compresses a contiguous 2-D tensor (rows x cols) on its own device; on CUDA, on the current stream, without
    waiting for the device. The compressed form is written into `storage` (a contiguous uint8 tensor on x's device of
    at least storage_bytes(rows, cols, k, x.dtype), kept by the result) or into a new one from torch's allocator. On CUDA
    the compression's scratch is `workspace` (at least compress_workspace_bytes) or a new one, released to the caching
    allocator when this returns (stream-ordered, so the next allocation on the stream reuses it safely).
    """
    _check_matrix(x, "x")
    _check_runs_here(x, "x")
    if not isinstance(options, PammOptions):
        raise TypeError(f"options must be a pammcuda.PammOptions, got {type(options).__name__}")
    rows, cols = x.shape
    k = resolve_k(options, rows)
    needed = storage_bytes(rows, cols, k, x.dtype, options.alpha_dtype)
    if storage is None:
        storage = _new_block(needed, x.device)
    else:
        _check_block(storage, "storage", x.device, needed, "pammcuda.storage_bytes")
    handle = ctypes.c_void_p()
    library = _native.lib()
    native_options = ctypes.byref(options.to_native())
    if x.is_cuda:
        work_needed = compress_workspace_bytes(rows, cols, k, x.dtype)
        if workspace is None:
            workspace = _new_block(work_needed, x.device)
        else:
            _check_block(workspace, "workspace", x.device, work_needed, "pammcuda.compress_workspace_bytes")
        engine = _engine_for(x.device)
        _native.check(library.pamm_compress_into(engine.handle, ctypes.c_void_p(x.data_ptr()), rows, cols, dtype_code(x.dtype, "x"),
                                                 native_options, ctypes.c_void_p(storage.data_ptr()), storage.numel(),
                                                 ctypes.c_void_p(workspace.data_ptr()), workspace.numel(), ctypes.byref(handle)))
        return Compressed(handle, engine, x.device, rows, cols, k, x.dtype, options.alpha_dtype, storage)
    if workspace is not None:
        _check_block(workspace, "workspace", x.device, compress_workspace_bytes(rows, cols, k, x.dtype), "pammcuda.compress_workspace_bytes")
    _native.check(library.pamm_cpu_compress_into(ctypes.c_void_p(x.data_ptr()), rows, cols, dtype_code(x.dtype, "x"), native_options,
                                                 ctypes.c_void_p(storage.data_ptr()), storage.numel(), ctypes.byref(handle)))
    return Compressed(handle, None, x.device, rows, cols, k, x.dtype, options.alpha_dtype, storage)


def project_and_compress_workspace_bytes(rows, cols, k, projection_cols):
    """
    Bytes of workspace project_and_compress uses for projection_cols outputs in all (sum of the weights' rows): the
    float32 GEMM output rows x (projection_cols + k) and the compression's scratch.
    """
    return _size("pamm_project_and_compress_workspace_bytes", rows, cols, k, projection_cols)


def project_and_compress(x, weights, options=PammOptions(), *, storage=None, workspace=None):
    """
    The forward projections y_i = x W_i^T (no bias) and the compression of x from ONE GEMM, on CUDA only, on the
    current stream, without waiting: the generator rows C are appended to the stacked weight [W_1; W_2; ...] so that
    the similarities x C^T come from the same read of x (pamm_project_and_compress_split_into). x is a contiguous CUDA
    matrix (rows x cols); weights are (d_i x cols) matrices of x's dtype on its device. Returns (outputs, compressed):
    outputs is a list of new contiguous rows x d_i tensors of x's dtype, x W_i^T, each in an allocation of its own (as
    nn.Linear's outputs are, so attention keeping V for backward keeps only V), and compressed is what
    compress(x, options) gives (the same generators, f except at near-ties, alpha within float32 tolerance). storage
    and workspace as in compress (workspace: at least project_and_compress_workspace_bytes of sum(d_i)). The stacked
    weight is a copy made here, so the weights are only read. No autograd: PammQKV wraps this in its autograd function.
    """
    _check_matrix(x, "x")
    if not x.is_cuda:
        raise ValueError(f"x is on {x.device}; project_and_compress runs on CUDA (use compress and torch.nn.functional.linear on the CPU)")
    if not isinstance(options, PammOptions):
        raise TypeError(f"options must be a pammcuda.PammOptions, got {type(options).__name__}")
    rows, cols = x.shape
    for index, weight in enumerate(weights):
        name = f"weights[{index}]"
        _check_tensor(weight, name)
        if weight.dim() != 2 or weight.shape[1] != cols:
            raise ValueError(f"{name} has shape {tuple(weight.shape)}; it must be (out_features, {cols})")
        if weight.dtype != x.dtype or weight.device != x.device:
            raise ValueError(f"{name} is {weight.dtype} on {weight.device}; x is {x.dtype} on {x.device}")
    if not weights:
        raise ValueError("weights is empty")
    k = resolve_k(options, rows)
    output_cols = [weight.shape[0] for weight in weights]
    projection_cols = sum(output_cols)
    needed = storage_bytes(rows, cols, k, x.dtype, options.alpha_dtype)
    if storage is None:
        storage = _new_block(needed, x.device)
    else:
        _check_block(storage, "storage", x.device, needed, "pammcuda.storage_bytes")
    work_needed = project_and_compress_workspace_bytes(rows, cols, k, projection_cols)
    if workspace is None:
        workspace = _new_block(work_needed, x.device)
    else:
        _check_block(workspace, "workspace", x.device, work_needed, "pammcuda.project_and_compress_workspace_bytes")
    # [W_1; W_2; ...] with k rows below for C, which the library writes on the stream.
    stacked = torch.empty(projection_cols + k, cols, dtype=x.dtype, device=x.device)
    with torch.no_grad():  # a plain copy (cat with out= refuses weights that require grad)
        torch.cat(weights, dim=0, out=stacked[:projection_cols])
    outputs = [torch.empty(rows, d, dtype=x.dtype, device=x.device) for d in output_cols]
    engine = _engine_for(x.device)
    handle = ctypes.c_void_p()
    _native.check(_native.lib().pamm_project_and_compress_split_into(
        engine.handle, ctypes.c_void_p(x.data_ptr()), rows, cols, dtype_code(x.dtype, "x"), ctypes.c_void_p(stacked.data_ptr()),
        len(outputs), (ctypes.c_int32 * len(outputs))(*output_cols), (ctypes.c_void_p * len(outputs))(*(y.data_ptr() for y in outputs)),
        ctypes.byref(options.to_native()), ctypes.c_void_p(storage.data_ptr()), storage.numel(), ctypes.c_void_p(workspace.data_ptr()),
        workspace.numel(), ctypes.byref(handle)))
    return outputs, Compressed(handle, engine, x.device, rows, cols, k, x.dtype, options.alpha_dtype, storage)


def cuda_available():
    """(available, reason): whether libpammcuda can use CUDA here, and why not."""
    available = ctypes.c_int32()
    library = _native.lib()
    _native.check(library.pamm_cuda_available(ctypes.byref(available)))
    return bool(available.value), _native.read_string(library.pamm_cuda_unavailable_reason)
