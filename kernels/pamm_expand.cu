#include "pamm_common.cuh"

// The last stage of a PAMM product, in one launch whatever the dtypes:
//     out = round( (a·β) ⊗ Σ_j L[j, p]·R[j, q]  ⊕  c ⊗ out )        (P × Q, row-major)
// with L (inner × P) and R (inner × Q) row-major: C (k × n, in its own dtype, widened as it is staged) and B̃ (k × m,
// float32) for the n × m layout, B̃ and C for m × n. a·β and c come from device memory (`scalars`, written by
// pamm_reduce_groups), so β never visits the host. It replaces a cuBLAS GEMM into a float32 staging block followed by
// pamm_store_output: one launch, no staging, and the output written once in its own dtype (half the bytes of the float32
// product for bf16).
//
// One instance per output dtype, `pamm_expand_{out}`; C's dtype is an argument (`generators_dtype`, a PAMM_DTYPE_*
// code), switched on as each element of C is staged. That branch is uniform and C is small (k × n, read from L2 by the
// few blocks that share a tile row), and it makes 3 instances of the 9 (C's dtype × the output's) that instantiating C
// too gave: NVRTC took 12.3 s for those on one architecture, linear in the instances, which is what a GPU's first product
// in a fresh kernel cache waits for.
//
// Every output element is one fmaf chain over j = 0, 1, … from +0, then one multiply by a·β, one (unfused) add of
// c·out when c ≠ 0, and one rounding to the output's dtype: a fixed order, bitwise the same on every run, tile and
// GPU, and reproducible on the host with MathF.FusedMultiplyAdd (ExpandKernelTests). With c = 0 the old output is not
// read, so garbage or NaN in it cannot leak in (BLAS semantics).
//
// Tiling: a block of 256 threads owns a 64 × 128 tile of the output (tiles in row-major order over grid.x); each thread 4 rows × 8 consecutive columns
// (32 accumulators in registers; about 60 registers in all, no local memory: NvrtcCompileTests), so a warp stores
// 2 rows × 128 columns, 128-bit stores when the rows are aligned. L's and R's slices of 16 steps are staged in shared
// memory (12 KiB) and each step is 32 fmas a thread against 3 shared loads (one broadcast). The inner dimension is k, small (32–256 in training), so the work is k/4 steps
// of 32 fmas per output and its cost is writing the output, not the arithmetic, for k ≲ 64 on an H200.
#define PAMM_EXPAND_THREADS 256
#define PAMM_EXPAND_TILE_ROWS 64
#define PAMM_EXPAND_TILE_COLUMNS 128
#define PAMM_EXPAND_STEPS 16
#define PAMM_EXPAND_THREAD_ROWS 4
#define PAMM_EXPAND_THREAD_COLUMNS 8
static_assert((PAMM_EXPAND_TILE_ROWS / PAMM_EXPAND_THREAD_ROWS) * (PAMM_EXPAND_TILE_COLUMNS / PAMM_EXPAND_THREAD_COLUMNS) ==
                  PAMM_EXPAND_THREADS, "each thread owns one THREAD_ROWS x THREAD_COLUMNS piece of the tile");
static_assert(PAMM_EXPAND_THREADS % PAMM_EXPAND_TILE_ROWS == 0 && PAMM_EXPAND_THREADS % PAMM_EXPAND_TILE_COLUMNS == 0 &&
                  PAMM_EXPAND_THREADS / PAMM_EXPAND_TILE_ROWS <= PAMM_EXPAND_STEPS,
              "the staging loops give every thread one row of L's slice and one column of R's");

// The thread's 8 output values of one row, rounded to the output's dtype, into `target`: 128-bit stores (one for 16-bit
// outputs, two for float32) when `vectorised`, else one element at a time, the first `valid` only.
template <typename E>
__device__ __forceinline__ void pamm_expand_store_run(typename E::storage* target, int valid, bool vectorised,
                                                      const float (&values)[PAMM_EXPAND_THREAD_COLUMNS])
{
    // Constant trip counts, unrolled: the values stay in registers.
    if (!vectorised)
    {
#pragma unroll
        for (int e = 0; e < PAMM_EXPAND_THREAD_COLUMNS; ++e)
            if (e < valid) target[e] = E::store(values[e]);
        return;
    }
    const int width = pamm_vector<E>::width;
#pragma unroll
    for (int v = 0; v < PAMM_EXPAND_THREAD_COLUMNS / width; ++v)
        reinterpret_cast<uint4*>(target)[v] = pamm_vector<E>::pack(values + v * width);
}

// The product's two operands as the staging loops read them: element `index` of a row-major matrix in the dtype named at
// run time (B̃ is float32, C in X's dtype), widened to float32.
struct pamm_expand_operand
{
    const void* __restrict__ data;
    int dtype;
    __device__ __forceinline__ float load(long long index) const { return pamm_load_dtype(data, dtype, index); }
};

// The staged slices of L and R (12 KiB), declared once per kernel in pamm_expand_product.
struct pamm_expand_tiles
{
    float left[PAMM_EXPAND_STEPS][PAMM_EXPAND_TILE_ROWS];
    float right[PAMM_EXPAND_STEPS][PAMM_EXPAND_TILE_COLUMNS];
};

template <typename E>
__device__ __forceinline__ void pamm_expand(pamm_expand_operand left, pamm_expand_operand right, int inner, int rows, int columns,
                                            const float* __restrict__ scalars, typename E::storage* __restrict__ output,
                                            pamm_expand_tiles& tiles)
{
    const int thread_columns = PAMM_EXPAND_TILE_COLUMNS / PAMM_EXPAND_THREAD_COLUMNS; // 16 threads across a tile
    int tx = threadIdx.x % thread_columns, ty = threadIdx.x / thread_columns;
    // One grid dimension for all tiles, row of tiles after row of tiles: grid.y would cap n or m at 65 535 tiles.
    unsigned int column_tiles = (unsigned int)((columns + PAMM_EXPAND_TILE_COLUMNS - 1) / PAMM_EXPAND_TILE_COLUMNS);
    int first_row = (int)(blockIdx.x / column_tiles) * PAMM_EXPAND_TILE_ROWS;
    int first_column = (int)(blockIdx.x % column_tiles) * PAMM_EXPAND_TILE_COLUMNS;
    // The grid spans a batch's largest output: a smaller product's blocks past its last tile have nothing to write.
    // (The whole block returns, before any barrier.)
    if (first_row >= rows) return;

    float sums[PAMM_EXPAND_THREAD_ROWS][PAMM_EXPAND_THREAD_COLUMNS];
#pragma unroll
    for (int r = 0; r < PAMM_EXPAND_THREAD_ROWS; ++r)
#pragma unroll
        for (int q = 0; q < PAMM_EXPAND_THREAD_COLUMNS; ++q) sums[r][q] = 0.0f;

    // What this thread stages of L's and R's tiles: one row of L's slice and one column of R's, at every few steps.
    int left_row = threadIdx.x % PAMM_EXPAND_TILE_ROWS, left_step = threadIdx.x / PAMM_EXPAND_TILE_ROWS;
    int right_column = threadIdx.x % PAMM_EXPAND_TILE_COLUMNS, right_step = threadIdx.x / PAMM_EXPAND_TILE_COLUMNS;
    bool left_inside = first_row + left_row < rows, right_inside = first_column + right_column < columns;
    long long left_column = first_row + left_row, right_row = first_column + right_column;

    for (int first_step = 0; first_step < inner; first_step += PAMM_EXPAND_STEPS)
    {
        int steps = min(PAMM_EXPAND_STEPS, inner - first_step);
        // Consecutive threads read consecutive floats of one row of L or R: coalesced. Outside the matrix: 0, never summed
        // into a valid output (the steps past `inner` are not run, and rows and columns past the edge are not stored).
        // Each thread stages one row (column) of the tile at every (THREADS / TILE)-th step.
#pragma unroll
        for (int step = left_step; step < PAMM_EXPAND_STEPS; step += PAMM_EXPAND_THREADS / PAMM_EXPAND_TILE_ROWS)
            tiles.left[step][left_row] = step < steps && left_inside ? left.load(left_column + (long long)(first_step + step) * rows) : 0.0f;
#pragma unroll
        for (int step = right_step; step < PAMM_EXPAND_STEPS; step += PAMM_EXPAND_THREADS / PAMM_EXPAND_TILE_COLUMNS)
            tiles.right[step][right_column] = step < steps && right_inside ? right.load(right_row + (long long)(first_step + step) * columns) : 0.0f;
        __syncthreads();
        for (int step = 0; step < steps; ++step)
        {
            float l[PAMM_EXPAND_THREAD_ROWS], r[PAMM_EXPAND_THREAD_COLUMNS];
#pragma unroll
            for (int i = 0; i < PAMM_EXPAND_THREAD_ROWS; ++i) l[i] = tiles.left[step][ty * PAMM_EXPAND_THREAD_ROWS + i];
#pragma unroll
            for (int q = 0; q < PAMM_EXPAND_THREAD_COLUMNS; ++q) r[q] = tiles.right[step][tx * PAMM_EXPAND_THREAD_COLUMNS + q];
#pragma unroll
            for (int i = 0; i < PAMM_EXPAND_THREAD_ROWS; ++i)
#pragma unroll
                for (int q = 0; q < PAMM_EXPAND_THREAD_COLUMNS; ++q) sums[i][q] = fmaf(l[i], r[q], sums[i][q]);
        }
        __syncthreads();
    }

    float scale = scalars[0], c = scalars[1];
    int column = first_column + tx * PAMM_EXPAND_THREAD_COLUMNS;
    if (column >= columns) return;
    int valid = min(PAMM_EXPAND_THREAD_COLUMNS, columns - column);
    // A whole run of 8 on a 16-byte boundary: every row starts on one when the output does and a row's bytes are a multiple of 16.
    bool vectorised = valid == PAMM_EXPAND_THREAD_COLUMNS && pamm_is_aligned16(output) &&
                      ((long long)columns * (long long)sizeof(typename E::storage)) % PAMM_VECTOR_BYTES == 0;
#pragma unroll
    for (int i = 0; i < PAMM_EXPAND_THREAD_ROWS; ++i)
    {
        int row = first_row + ty * PAMM_EXPAND_THREAD_ROWS + i;
        if (row >= rows) break;
        typename E::storage* target = output + (long long)row * columns + column;
        float values[PAMM_EXPAND_THREAD_COLUMNS];
#pragma unroll
        for (int q = 0; q < PAMM_EXPAND_THREAD_COLUMNS; ++q)
        {
            float value = __fmul_rn(scale, sums[i][q]);
            if (c != 0.0f && q < valid) value = __fadd_rn(value, __fmul_rn(c, E::load(target[q])));
            values[q] = value;
        }
        pamm_expand_store_run<E>(target, valid, vectorised, values);
    }
}

// The product's two layouts: n × m = Cᵀ B̃ (C's n columns are the output's rows), or m × n = B̃ᵀ C. A batch of products
// (pamm_common.cuh) shares C: product z (grid.z) has its own m, B̃ (at its offset in the batch's) and output.
template <typename E>
__device__ __forceinline__ void pamm_expand_product(const void* __restrict__ generators, int generators_dtype,
                                                    const float* __restrict__ reduced, int k, int n, int m0, int m1, int m2,
                                                    int transposed, const float* __restrict__ scalars,
                                                    typename E::storage* __restrict__ output0,
                                                    typename E::storage* __restrict__ output1,
                                                    typename E::storage* __restrict__ output2)
{
    __shared__ pamm_expand_tiles tiles;
    int m = pamm_batch_pick(m0, m1, m2);
    typename E::storage* __restrict__ output = pamm_batch_pick(output0, output1, output2);
    reduced += (long long)k * pamm_batch_offset(m0, m1);
    pamm_expand_operand c = {generators, generators_dtype}, b = {reduced, PAMM_DTYPE_F32};
    // One call with the operands swapped, not a call per layout: two inlined bodies would double what NVRTC compiles.
    bool swapped = transposed != 0;
    pamm_expand<E>(swapped ? b : c, swapped ? c : b, k, swapped ? m : n, swapped ? n : m, scalars, output, tiles);
}

#define PAMM_EXPAND_PARAMETERS(T)                                                                                        \
    const void* __restrict__ generators, int generators_dtype, const float* __restrict__ reduced, int k, int n, int m0,   \
    int m1, int m2, int transposed, const float* __restrict__ scalars, T* __restrict__ output0, T* __restrict__ output1, \
    T* __restrict__ output2
#define PAMM_EXPAND_ARGUMENTS \
    generators, generators_dtype, reduced, k, n, m0, m1, m2, transposed, scalars, output0, output1, output2

extern "C" __global__ void __launch_bounds__(PAMM_EXPAND_THREADS) pamm_expand_f32(PAMM_EXPAND_PARAMETERS(float))
{ pamm_expand_product<pamm_f32>(PAMM_EXPAND_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_expand_f32)

extern "C" __global__ void __launch_bounds__(PAMM_EXPAND_THREADS) pamm_expand_f16(PAMM_EXPAND_PARAMETERS(unsigned short))
{ pamm_expand_product<pamm_f16>(PAMM_EXPAND_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_expand_f16)

extern "C" __global__ void __launch_bounds__(PAMM_EXPAND_THREADS) pamm_expand_bf16(PAMM_EXPAND_PARAMETERS(unsigned short))
{ pamm_expand_product<pamm_bf16>(PAMM_EXPAND_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_expand_bf16)
