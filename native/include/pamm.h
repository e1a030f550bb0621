/*
 * pamm.h: the C ABI of PammCuda (libpammcuda.so), Point-Approximate Matrix Multiplication.
 *
 * PAMM keeps a small summary of an activation X (rows x cols, row-major) instead of X itself and
 * later computes an approximation of X^T G for any G (rows x grad_cols) from it: the weight
 * gradient of a linear layer without keeping its input. See the project's design.md.
 *
 * Conventions
 * - Every function except pamm_version, pamm_abi_version, pamm_last_error and pamm_status_name
 *   returns a pamm_status. No C++ or .NET exception ever crosses this boundary.
 * - On failure, pamm_last_error() returns a one-line message naming the function and the offending
 *   argument; on success the calling thread's message is cleared to "".
 * - Matrices are dense and row-major. Element types are given by pamm_dtype; accumulation is float32.
 * - Handles (pamm_engine, pamm_compressed) are opaque and validated on every call: a NULL handle is
 *   PAMM_ERROR_INVALID_ARGUMENT; a freed, foreign or wrong-kind handle is PAMM_ERROR_INVALID_HANDLE
 *   (freeing twice is an error, never a crash). Handle values are never reused.
 * - Handle bookkeeping is thread-safe. One engine must not be used by two threads at once.
 * - GPU functions take device pointers (CUdeviceptr / what cudaMalloc or a framework's tensor gives)
 *   and run asynchronously on the engine's stream: inputs must stay valid, and outputs must not be
 *   read, until that stream reaches the work (the usual stream-ordered rules of a framework).
 *   Compressing, multiplying and freeing never wait for the device; the functions that do say so
 *   (pamm_compressed_read_dropped_rows; pamm_engine_create when it opens the device; pamm_engine_destroy
 *   of a device's last engine).
 * - Memory a framework wants to count is the caller's: pamm_compress_into writes the compressed form
 *   into storage the caller allocates (pamm_compressed_storage_bytes), and compressions and products
 *   take their scratch from a caller workspace (pamm_compress_workspace_bytes,
 *   pamm_approx_matmul_workspace_bytes). Without them the engine allocates its own, once, and reuses it.
 * - Engines of one process share one device object per ordinal (context, loaded kernels), reference-
 *   counted: kernels are compiled and loaded once per GPU whatever the number of engines and streams.
 * - GPU work runs in the device's primary context (the one the CUDA runtime and PyTorch use), and every
 *   call leaves the calling thread's current context as it found it (none stays none): a caller's
 *   current device is never moved by a call on another device's data.
 * - CPU functions (pamm_cpu_*) take host pointers and are synchronous.
 * - The linux-x64 library is compiled for x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE: Intel
 *   Haswell, AMD Zen or later). On an older CPU its start-up ends the process before any function
 *   returns, so a loader that must fail gracefully checks the CPU first (pammcuda's Python loader does).
 */
#ifndef PAMM_H
#define PAMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented on every incompatible change of this header. Additions (new functions) leave it as it is
   and are announced by a PAMM_HAS_* macro below, which a caller can test with #ifdef.
   2: pamm_options.alpha_dtype and pamm_compressed_info.alpha_dtype were added (both structs grew), and
      pamm_compressed_storage_bytes takes the alpha_dtype the storage is laid out for.
   3: pamm_options.refine_generators was added (the struct grew). */
#define PAMM_ABI_VERSION 3

/* pamm_compress_with_options exists (options given per call; added within ABI version 1). */
#define PAMM_HAS_COMPRESS_WITH_OPTIONS 1

/* Caller-provided memory (added within ABI version 1): pamm_resolve_k, pamm_compressed_storage_bytes,
   pamm_compress_workspace_bytes, pamm_approx_matmul_workspace_bytes, pamm_compress_into,
   pamm_approx_matmul_with_workspace and pamm_cpu_compress_into. */
#define PAMM_HAS_CALLER_MEMORY 1

/* pamm_compressed_read_dropped_rows exists, and pamm_compressed_get_info no longer waits for the device
   (its dropped_rows is -1 for a GPU handle whose count has not been read; added within ABI version 1). */
#define PAMM_HAS_READ_DROPPED_ROWS 1

/* pamm_product_plan_bytes and pamm_compressed_prepare_products exist: the products of one compression in caller
   storage share one plan (the rows grouped by generator), so Q, K and V sort once (added within ABI version 1). */
#define PAMM_HAS_PRODUCT_PLAN 1

/* Engines share one device per ordinal, and pamm_cuda_device_references reports it (added within ABI version 1). */
#define PAMM_HAS_SHARED_DEVICES 1

/* pamm_project_and_compress_into and pamm_project_and_compress_workspace_bytes exist: the forward Q/K/V
   projection and the compression from one GEMM (added within ABI version 1). */
#define PAMM_HAS_PROJECT_AND_COMPRESS 1

/* pamm_compressed_open and pamm_cpu_compressed_open exist: a handle over caller storage that already holds a
   compression, so a framework may keep only the storage (a tensor) between forward and backward, as a compiled
   graph must (added within ABI version 2). */
#define PAMM_HAS_OPEN_COMPRESSED 1

/* pamm_planned_matmul_workspace_bytes exists: the workspace of a product of a handle that has a plan, without the
   room for grouping the rows (added within ABI version 2). */
#define PAMM_HAS_PLANNED_MATMUL_WORKSPACE 1

/* pamm_cpu_vector_bits exists: the SIMD width the CPU backend runs at (added within ABI version 2). */
#define PAMM_HAS_CPU_VECTOR_BITS 1

/* pamm_approx_matmul_batch and pamm_approx_matmul_batch_workspace_bytes exist: up to PAMM_MAX_BATCHED_PRODUCTS
   products of one compression (the weight gradients of Q, K and V) in one call, each stage one launch for all of
   them (added within ABI version 2). */
#define PAMM_HAS_BATCHED_PRODUCTS 1

/* pamm_project_and_compress_split_into exists: the one-GEMM projection into one output per projection (Q, K, V
   each in an allocation of its own), so a framework frees each when its last use ends (added within ABI version 2). */
#define PAMM_HAS_SPLIT_PROJECTION 1

typedef enum pamm_status {
    PAMM_OK = 0,
    /* An argument is NULL, out of range or inconsistent with the others; the message names it. */
    PAMM_ERROR_INVALID_ARGUMENT = 1,
    /* A handle that is freed, was never created by this library, or is of the wrong kind. */
    PAMM_ERROR_INVALID_HANDLE = 2,
    /* CUDA cannot be used: no driver, no device, or a library missing (see pamm_cuda_unavailable_reason). */
    PAMM_ERROR_CUDA_UNAVAILABLE = 3,
    /* Host or device memory ran out. */
    PAMM_ERROR_OUT_OF_MEMORY = 4,
    /* A string output does not fit in the caller's buffer; *length is its length, so it needs *length + 1 bytes. */
    PAMM_ERROR_BUFFER_TOO_SMALL = 5,
    /* The backend failed (a CUDA, NVRTC or cuBLAS error, ...); the message carries its name and text. */
    PAMM_ERROR_RUNTIME = 6
} pamm_status;

typedef enum pamm_dtype {
    PAMM_FLOAT32 = 0,
    PAMM_FLOAT16 = 1,  /* IEEE binary16 */
    PAMM_BFLOAT16 = 2  /* the upper 16 bits of a float32 */
} pamm_dtype;

typedef enum pamm_layout {
    /* out = X^T G, row-major cols x grad_cols. */
    PAMM_INPUT_BY_GRADIENT = 0,
    /* out = G^T X, row-major grad_cols x cols: the [out_features, in_features] layout of a weight gradient. */
    PAMM_GRADIENT_BY_INPUT = 1
} pamm_layout;

/* How an activation is compressed. Fill with pamm_options_init, then change what you need. */
typedef struct pamm_options {
    /* Fraction of rows kept as generators, in (0, 1]: k = clamp(round(ratio * rows), 1, rows). Used when k == 0. Default 1/512. */
    double ratio;
    /* Number of generators in [1, rows]; 0 means "from ratio". Default 0. */
    int32_t k;
    /* Neighbourhood tolerance >= 0: a row is kept iff ||X_i - proj(X_i)|| <= epsilon ||X_i||.
       INFINITY (the default) keeps every row; 0 is uniform column-row sampling. A row holding NaN or
       infinity is kept whatever epsilon is, on purpose: the non-finite values reach the product (and the
       weight gradient) as they would through an exact GEMM, instead of vanishing with a dropped row. */
    double epsilon;
    /* Seed of the Philox4x32-10 sampling of generator rows; the same seed picks the same rows on CPU and GPU. Default 0. */
    uint64_t seed;
    /* How the coefficients alpha are stored: PAMM_FLOAT32 (the default, 4 bytes a row) or PAMM_BFLOAT16 (2 bytes a row,
       rounded to nearest-even: each represented row moves by at most 2^-8 of itself). Added in ABI version 2. */
    pamm_dtype alpha_dtype;
    /* 1: refine the generators after the assignment, beyond the paper's PAMM: each becomes the alpha-weighted sum of
       the rows assigned to it, at its own norm, and every row's alpha is fitted to it again. The stored form and its
       size do not change; the product's error falls, for one more read of X for the sums and one for alpha. 0 (the
       default): the paper's PAMM. Any other value is refused. Added in ABI version 3. */
    int32_t refine_generators;
} pamm_options;

/* What a compressed activation holds. */
typedef struct pamm_compressed_info {
    int32_t rows;          /* b */
    int32_t cols;          /* n */
    int32_t k;             /* generators */
    int32_t dropped_rows;  /* rows dropped by the epsilon condition; -1 for a GPU handle until
                              pamm_compressed_read_dropped_rows has read it (the count stays on the device) */
    pamm_dtype dtype;      /* element type of X and of the stored generators */
    int32_t on_gpu;        /* 1: on the device (an engine's compression, _into, _open or projection handle),
                              0: on the host (pamm_cpu_compress, _into or _open) */
    int64_t stored_bytes;  /* bytes kept, everything counted (generators, assignment, coefficients, scalars) */
    int64_t dense_bytes;   /* rows * cols * sizeof(dtype): what keeping X itself would cost */
    pamm_dtype alpha_dtype; /* how alpha is stored (options.alpha_dtype); added in ABI version 2 */
} pamm_compressed_info;

typedef struct pamm_engine_t *pamm_engine;          /* a GPU engine: a device and a stream */
typedef struct pamm_compressed_t *pamm_compressed;  /* a compressed activation, on the GPU or the host */

/* ---- Version and errors ------------------------------------------------------------------- */

/* The library's version, e.g. "0.1.0". Static storage; never NULL. */
const char *pamm_version(void);

/* PAMM_ABI_VERSION of the library; compare with the header's to detect a mismatch. */
int32_t pamm_abi_version(void);

/* The calling thread's message for its most recent failed call, "" after a successful one.
   Valid until the thread's next call into the library. Never NULL. */
const char *pamm_last_error(void);

/* The enumerator's name, e.g. "PAMM_ERROR_INVALID_ARGUMENT"; "PAMM_STATUS_UNKNOWN" for other values. Static storage. */
const char *pamm_status_name(pamm_status status);

/* Fills *options with the defaults: ratio 1/512, k 0, epsilon INFINITY, seed 0, alpha_dtype PAMM_FLOAT32,
   refine_generators 0. */
pamm_status pamm_options_init(pamm_options *options);

/* ---- CUDA availability and devices ---------------------------------------------------------- */

/* *available = 1 when the CUDA driver, NVRTC and cuBLAS load and a device exists, else 0. */
pamm_status pamm_cuda_available(int32_t *available);

/* Why CUDA cannot be used ("" when it can). String outputs follow one rule:
   - *length always receives the text's byte length without the terminating NUL (length must not be NULL).
   - buffer == NULL with capacity == 0 asks for the length only: nothing else is written and the call
     returns PAMM_OK, whatever the length (0 for ""). buffer == NULL with capacity > 0 is
     PAMM_ERROR_INVALID_ARGUMENT.
   - Otherwise, when capacity > *length the text and a NUL are written to buffer and the call returns
     PAMM_OK; when not, nothing is written to buffer and it returns PAMM_ERROR_BUFFER_TOO_SMALL.
   So a caller asks for the length, allocates *length + 1 bytes, and calls again. */
pamm_status pamm_cuda_unavailable_reason(char *buffer, size_t capacity, size_t *length);

/* The name of device `ordinal`, e.g. "NVIDIA H100 80GB HBM3 (sm_90)". Same string rule as above.
   PAMM_ERROR_CUDA_UNAVAILABLE without CUDA; PAMM_ERROR_INVALID_ARGUMENT for an ordinal out of range
   (bad buffer arguments are reported first, CUDA or not). */
pamm_status pamm_cuda_device_name(int32_t ordinal, char *buffer, size_t capacity, size_t *length);

/* ---- GPU engine ----------------------------------------------------------------------------- */

/* Creates an engine on device `ordinal` that compresses with `options` and queues all its work on
   `stream` (a cudaStream_t / CUstream the caller owns and keeps alive while the engine lives; NULL is
   the legacy default stream). options->k is checked against each input's rows at pamm_compress.
   Engines of one ordinal share one device object (the first opens it, the last destroyed closes it):
   kernels are compiled by NVRTC on first use, cached on disk, and loaded once per device, and with
   cuBLAS 12.2 or later one cuBLAS handle serves every stream of the device. An engine keeps no device
   memory of its own (the GEMM constants live in each call's workspace), so once the device has run a
   GEMM, creating an engine for another stream touches no device memory and waits for nothing: a stream
   being captured into a CUDA graph may get its engine inside the capture. Opening the device (the first
   engine of an ordinal, its first kernels and GEMM) and, before cuBLAS 12.2, a stream's first GEMM (a
   handle of its own) must happen outside a capture. Destroying the last engine of an ordinal waits for the device. */
pamm_status pamm_engine_create(int32_t ordinal, void *stream, const pamm_options *options, pamm_engine *engine);

/* Destroys the engine (this frees its scratch and may wait for the device). Compressed activations it
   made must be freed with pamm_compressed_free before it (freeing them later is still safe, but they can
   no longer be used, except a pamm_compress_into handle by another engine of the same device). */
pamm_status pamm_engine_destroy(pamm_engine engine);

/* Compresses the device matrix x (rows x cols of dtype) with the engine's options into a new handle
   whose storage the engine allocates (once per size: a freed handle's storage is reused in stream order).
   x may be reused or freed once the engine's stream has passed this call. */
pamm_status pamm_compress(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                          pamm_compressed *compressed);

/* pamm_compress with `options` instead of the engine's: a framework gives each training step its own
   seed (so each step samples other rows) on one engine, without creating engines per seed. The options
   are checked like pamm_cpu_compress's and only for this call; the engine's own options stay in force
   for pamm_compress. The same options pick the same generators as pamm_cpu_compress and as
   pamm_compress on an engine created with them. options NULL is PAMM_ERROR_INVALID_ARGUMENT. */
pamm_status pamm_compress_with_options(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                                       const pamm_options *options, pamm_compressed *compressed);

/* out = a * P + c * out, where P approximates X^T G (or G^T X, by layout) from the compressed X.
   grad: device matrix rows x grad_cols of grad_dtype; out: device matrix of out_dtype with the
   layout's shape. c = 0 never reads out (it may hold NaN). compressed must come from this engine, or
   lie in caller storage (pamm_compress_into, pamm_compressed_open, pamm_project_and_compress_*) made on
   any engine of the same device (the caller orders the two streams).
   beta = rows / (rows - dropped rows) is applied on the device: nothing waits. Scratch is the engine's. */
pamm_status pamm_approx_matmul(pamm_engine engine, pamm_compressed compressed, const void *grad, int32_t grad_cols,
                               pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout,
                               float a, float c);

/* ---- Caller-provided memory (PAMM_HAS_CALLER_MEMORY) -------------------------------------------
   A framework allocates what PAMM keeps and uses through its own allocator (PyTorch's caching allocator,
   say), where its memory statistics count it, and no call allocates or frees device memory, so a step
   can be captured into a CUDA graph. Storage and workspace blocks must be 16-byte aligned. The size
   functions are arithmetic only (no CUDA needed); every compress_into and *_with_workspace argument is
   checked before any work, and a block too small is PAMM_ERROR_INVALID_ARGUMENT naming it. */

/* *k = the number of generators `options` gives for `rows` rows (k, or clamp(round(ratio * rows), 1, rows)). */
pamm_status pamm_resolve_k(const pamm_options *options, int32_t rows, int32_t *k);

/* *bytes = the storage a compressed rows x cols activation with k generators of dtype needs, alpha stored as
   alpha_dtype (options.alpha_dtype: PAMM_FLOAT32 or PAMM_BFLOAT16): C (k*cols elements), alpha (one alpha_dtype per
   row), f (8 bits per row for k <= 256, 16 for k <= 65536, else 32) and eta (one int32), each part starting on a
   256-byte boundary, so it is at most 768 bytes more than info.stored_bytes. */
pamm_status pamm_compressed_storage_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, pamm_dtype alpha_dtype,
                                          size_t *bytes);

/* *bytes = the workspace one compression of rows x cols to k generators needs (any dtype, epsilon and refine_generators). */
pamm_status pamm_compress_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, size_t *bytes);

/* *bytes = the workspace one product needs: a compressed rows x cols activation with k generators of
   dtype, a gradient with grad_cols columns (any dtype) and an output of out_dtype (checked; the same for every
   out_dtype, since a 16-bit output is written directly). Enough for every handle of these
   shapes, including room to group the rows, which a product of a handle without a plan does in its workspace. */
pamm_status pamm_approx_matmul_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t grad_cols,
                                               pamm_dtype out_dtype, size_t *bytes);

/* *bytes = the same without that room: what a product needs when its handle has a plan (from
   pamm_compressed_prepare_products or pamm_compressed_open with a plan) or lies in its engine's storage (whose first
   product builds one there). Arithmetic only. */
pamm_status pamm_planned_matmul_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t grad_cols,
                                                pamm_dtype out_dtype, size_t *bytes);

/* pamm_compress_with_options into `storage` (device memory, storage_bytes >= pamm_compressed_storage_bytes)
   with scratch from `workspace` (device memory, workspace_bytes >= pamm_compress_workspace_bytes; NULL
   and 0 use the engine's own). The handle refers to the storage without owning it: pamm_compressed_free
   frees and waits for nothing, and the storage must stay valid while the handle is used and until the
   stream has passed the work that reads it. The workspace is free again once the stream has passed
   this call (stream-ordered reuse by the next call on the same stream is fine). Nothing waits. */
pamm_status pamm_compress_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                               const pamm_options *options, void *storage, size_t storage_bytes, void *workspace,
                               size_t workspace_bytes, pamm_compressed *compressed);

/* pamm_approx_matmul with scratch from `workspace` (device memory, workspace_bytes >=
   pamm_approx_matmul_workspace_bytes for the handle's shapes, or pamm_planned_matmul_workspace_bytes when it has a
   plan; NULL and 0 use the engine's own). */
pamm_status pamm_approx_matmul_with_workspace(pamm_engine engine, pamm_compressed compressed, const void *grad,
                                              int32_t grad_cols, pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype,
                                              pamm_layout layout, float a, float c, void *workspace, size_t workspace_bytes);

/* ---- Products that share a plan (PAMM_HAS_PRODUCT_PLAN) -----------------------------------------
   Every product of a compression groups its rows by generator (a sort of f), whatever the gradient. That work is the
   compression's "plan": a compression made by pamm_compress builds it in the engine's memory at its first product and
   keeps it until pamm_compressed_free; a compression in caller storage builds it only when given a block for it, and
   otherwise redoes it in every product's workspace. With a plan, a product queues three launches (two reduction passes
   and the last stage, which writes the output in its dtype), whatever the dtypes. */

/* *bytes = the plan of a compressed rows x cols activation with k generators of dtype (arithmetic only). */
pamm_status pamm_product_plan_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, size_t *bytes);

/* Builds the plan of `compressed` into `plan` (device memory, 16-byte aligned, plan_bytes >= pamm_product_plan_bytes)
   on the engine's stream and keeps it with the handle: every later product of `compressed`, on any engine of the
   device, uses it. The handle refers to the block without owning it: it must stay valid until the handle is freed and
   the stream has passed the products. A handle that has a plan already (its own, or from an earlier call) is
   PAMM_ERROR_INVALID_ARGUMENT. Nothing waits. */
pamm_status pamm_compressed_prepare_products(pamm_engine engine, pamm_compressed compressed, void *plan, size_t plan_bytes);

/* ---- Batched products (PAMM_HAS_BATCHED_PRODUCTS) -----------------------------------------------
   The projections of Q, K and V read one input, so their weight gradients are three products of one compression
   with three gradients. pamm_approx_matmul_batch computes them in one pass: the rows are grouped once (or the plan
   is reused) and each stage is one launch for all the products, three launches in all with a plan where three
   pamm_approx_matmul calls queue nine. Every output is bitwise what its own pamm_approx_matmul writes. */

/* The most products one pamm_approx_matmul_batch takes. */
#define PAMM_MAX_BATCHED_PRODUCTS 3

/* *bytes = the workspace of pamm_approx_matmul_batch over a compressed rows x cols activation with k generators of
   dtype, for `count` products whose gradients have grad_cols[0 .. count-1] columns (any gradient and output dtype).
   planned = 0: with room to group the rows (enough for any handle of these shapes); planned = 1: without it, for a
   handle that has a plan or lies in its engine's storage. Arithmetic only. */
pamm_status pamm_approx_matmul_batch_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t count,
                                                     const int32_t *grad_cols, int32_t planned, size_t *bytes);

/* For i = 0 .. count-1 (1 <= count <= PAMM_MAX_BATCHED_PRODUCTS): outs[i] = a * P_i + c * outs[i], where P_i
   approximates X^T G_i (or G_i^T X, by layout) from the compressed X, as pamm_approx_matmul computes it. grads[i]:
   device matrix rows x grad_cols[i] of grad_dtype; outs[i]: device matrix of out_dtype in the layout's shape, none
   overlapping another. The products share grad_dtype, out_dtype, layout, a and c; grad_cols may differ (grouped-query
   attention's narrower K and V). Scratch from `workspace` (workspace_bytes >= pamm_approx_matmul_batch_workspace_bytes;
   NULL and 0 use the engine's own). The arrays are read during the call only. Nothing waits. */
pamm_status pamm_approx_matmul_batch(pamm_engine engine, pamm_compressed compressed, int32_t count, const void *const *grads,
                                     const int32_t *grad_cols, pamm_dtype grad_dtype, void *const *outs, pamm_dtype out_dtype,
                                     pamm_layout layout, float a, float c, void *workspace, size_t workspace_bytes);

/* ---- Projection and compression from one GEMM (PAMM_HAS_PROJECT_AND_COMPRESS) ----------------
   A training step's forward pass multiplies X by the stacked weight W = [W_q; W_k; W_v] (projection_cols
   = m = d_q + d_k + d_v rows of cols elements). pamm_project_and_compress_into appends the k generator rows
   C = X[S] to that weight and runs ONE GEMM, X [W; C]^T, so that the similarities X C^T come from the same
   read of X; the assignment reads only them. */

/* *bytes = the workspace pamm_project_and_compress_into needs for rows x cols, k generators and
   projection_cols outputs (any dtype, epsilon and refine_generators): the float32 GEMM output rows x (projection_cols + k)
   and the compression's scratch. Arithmetic only. */
pamm_status pamm_project_and_compress_workspace_bytes(int32_t rows, int32_t cols, int32_t k, int32_t projection_cols,
                                                      size_t *bytes);

/* On the engine's stream, all device memory of dtype:
   - stacked_weight: row-major (projection_cols + k) x cols. Its first projection_cols rows hold W and are
     only read (keep the framework's weight there); its last k rows are overwritten with C.
   - projection: receives y = x W^T (no bias), row-major rows x projection_cols, nn.Linear's layout with the
     stacked weight: Q, K and V are the column ranges [0, d_q), [d_q, d_q + d_k), [d_q + d_k, m) of each row.
   - storage, workspace, compressed: as pamm_compress_into (workspace_bytes >=
     pamm_project_and_compress_workspace_bytes; NULL and 0 use the engine's own).
   The GEMM accumulates and writes in float32 (no TF32), so the similarities are float32 for every dtype
   and the compressed form is pamm_compress_into's: the same generators, f except at near-ties, alpha and
   beta within float32 tolerance; y is rounded once to dtype, as cuBLAS rounds a 16-bit output. X is not
   read again (unless epsilon < 1, whose test needs the row norms). rows x cols and projection_cols + k must
   each fit in int32 (one cuBLAS GEMM). Every argument that needs no engine is checked first; nothing waits. */
pamm_status pamm_project_and_compress_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                                           void *stacked_weight, int32_t projection_cols, void *projection,
                                           const pamm_options *options, void *storage, size_t storage_bytes, void *workspace,
                                           size_t workspace_bytes, pamm_compressed *compressed);

/* pamm_project_and_compress_into with y written to `outputs` matrices instead of one (PAMM_HAS_SPLIT_PROJECTION):
   projections[i] receives the next output_cols[i] columns of y as a dense row-major rows x output_cols[i] matrix of
   dtype, so with outputs of d_q, d_k and d_v columns they are x W_q^T, x W_k^T and x W_v^T. Use it where the
   framework would free the three separately: in one output, the views Q, K and V share one allocation, and
   attention, which keeps V for backward, then keeps Q and K too. projection_cols (for the stacked weight and
   pamm_project_and_compress_workspace_bytes) is the sum of output_cols. Everything else, the checks included, is
   pamm_project_and_compress_into's; outputs >= 1 and every output_cols[i] >= 1 and projections[i] != NULL are
   checked before the engine. */
pamm_status pamm_project_and_compress_split_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                                                 void *stacked_weight, int32_t outputs, const int32_t *output_cols,
                                                 void *const *projections, const pamm_options *options, void *storage,
                                                 size_t storage_bytes, void *workspace, size_t workspace_bytes,
                                                 pamm_compressed *compressed);

/* ---- Compressed activations (either backend) ------------------------------------------------ */

/* A handle over device storage that already holds a compression: written there by pamm_compress_into or
   pamm_project_and_compress_into of an engine of this engine's device, for these rows, cols, k (what
   pamm_resolve_k gave), dtype and alpha_dtype. storage_bytes >= pamm_compressed_storage_bytes, 16-byte aligned.
   plan: NULL and 0, or a block that pamm_compressed_prepare_products built for this storage (plan_bytes >=
   pamm_product_plan_bytes): the handle's products reuse it. The handle refers to both blocks without owning them
   (pamm_compressed_free leaves them alone), exactly as the handle that wrote them did. Nothing is queued and
   nothing waits. The blocks' contents are not checked (that would read the device): like a wrong pointer,
   storage that holds no such compression, or another storage's plan, makes the products undefined. */
pamm_status pamm_compressed_open(pamm_engine engine, void *storage, size_t storage_bytes, int32_t rows, int32_t cols,
                                 int32_t k, pamm_dtype dtype, pamm_dtype alpha_dtype, void *plan, size_t plan_bytes,
                                 pamm_compressed *compressed);

/* Shape, k, dropped rows and byte counts of a compressed activation. Never waits for the device:
   for a GPU handle, info->dropped_rows is -1 until pamm_compressed_read_dropped_rows has read it. */
pamm_status pamm_compressed_get_info(pamm_compressed compressed, pamm_compressed_info *info);

/* *dropped_rows = the rows the epsilon condition dropped. For a GPU handle this WAITS for the engine's
   stream to finish the compression (the count lives on the device, where products apply beta without
   it); the value is kept, so later calls and pamm_compressed_get_info do not wait. The engine that made
   the handle must still exist. A handle from pamm_compressed_open reads on the opening engine's stream: if
   another stream wrote the storage, order that stream's compression before this call (an event), as for
   any other use of the storage. */
pamm_status pamm_compressed_read_dropped_rows(pamm_compressed compressed, int32_t *dropped_rows);

/* Ends a compressed activation without waiting for the device: storage the engine allocated goes back
   to the engine for reuse in stream order (freed with the engine); caller storage (pamm_compress_into,
   pamm_cpu_compress_into) is left alone. Freeing a handle twice is PAMM_ERROR_INVALID_HANDLE. */
pamm_status pamm_compressed_free(pamm_compressed compressed);

/* The number of live handles of both kinds: a leak check for tests. */
pamm_status pamm_live_handle_count(int64_t *count);

/* The number of live pamm_compressed handles (either backend): checks that a framework frees what its
   graphs held, whatever engines it keeps cached. */
pamm_status pamm_live_compressed_count(int64_t *count);

/* *count = the engines sharing the device object of `ordinal` (0 when none is open; never needs CUDA). */
pamm_status pamm_cuda_device_references(int32_t ordinal, int64_t *count);

/* ---- CPU backend (host memory, synchronous) ------------------------------------------------- */

/* Compresses the host matrix x (rows x cols of dtype). Picks the same generators as pamm_compress
   on an engine with the same options, and as pamm_compress_with_options given them. rows * cols must be below 2^31. */
pamm_status pamm_cpu_compress(const void *x, int32_t rows, int32_t cols, pamm_dtype dtype,
                              const pamm_options *options, pamm_compressed *compressed);

/* pamm_cpu_compress into caller host storage (storage_bytes >= pamm_compressed_storage_bytes, 16-byte
   aligned), laid out as pamm_compress_into lays out device storage. The handle refers to the storage
   without owning it: products read C, f, alpha and eta from it, so it must stay valid and unchanged
   while the handle is used; pamm_compressed_free leaves it alone. */
pamm_status pamm_cpu_compress_into(const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options,
                                   void *storage, size_t storage_bytes, pamm_compressed *compressed);

/* pamm_compressed_open for host storage that pamm_cpu_compress_into wrote (rows * cols below 2^31): a handle
   for pamm_cpu_approx_matmul that refers to the storage without owning it. */
pamm_status pamm_cpu_compressed_open(void *storage, size_t storage_bytes, int32_t rows, int32_t cols, int32_t k,
                                     pamm_dtype dtype, pamm_dtype alpha_dtype, pamm_compressed *compressed);

/* pamm_approx_matmul for a handle from pamm_cpu_compress, pamm_cpu_compress_into or pamm_cpu_compressed_open, on host pointers. */
pamm_status pamm_cpu_approx_matmul(pamm_compressed compressed, const void *grad, int32_t grad_cols,
                                   pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout,
                                   float a, float c);

/* *bits = the SIMD width the CPU backend's kernels run at: 256 (AVX2 with FMA) for this library on x86-64, 128 (NEON)
   on arm64; 512, 128 or 32 (no SIMD) for other builds. It sets the speed only, never a bit of a result. */
pamm_status pamm_cpu_vector_bits(int32_t *bits);

/* The exact product out = a * X^T G + c * out (or G^T X), on host pointers: a reference for tests. */
pamm_status pamm_cpu_exact_matmul(const void *x, int32_t rows, int32_t cols, pamm_dtype x_dtype,
                                  const void *grad, int32_t grad_cols, pamm_dtype grad_dtype,
                                  void *out, pamm_dtype out_dtype, pamm_layout layout, float a, float c);

#ifdef __cplusplus
}
#endif

#endif /* PAMM_H */
