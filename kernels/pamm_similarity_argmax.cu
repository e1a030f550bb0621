#include "pamm_common.cuh"
#include "pamm_assign_rules.cuh"

// f and α of every row without the similarity matrix S: each block computes the dot products of its
// rows with all k generators itself and applies the rules of pamm_assign_rules.cuh, so nothing of
// size b × k is ever written (the alternative to a cuBLAS GEMM + pamm_assign; kernels/README.md says
// which the engine uses and why).
//
// A block owns 32 rows (8 warps × 4 rows). Generators are taken 64 at a time (2 per lane); for each
// such tile the block walks the columns 32 at a time, staging its rows and the generators' slice in
// shared memory as float32. Each thread accumulates its 4 rows × 2 generators with one fma per column
// in ascending column order: a fixed summation order, so the result is bitwise the same run after run.
// Each lane keeps a running best per row across generator tiles; one warp reduction per row at the end.
#define PAMM_SIMILARITY_THREADS 256
#define PAMM_SIMILARITY_ROWS_PER_WARP 4
#define PAMM_SIMILARITY_BLOCK_ROWS (PAMM_SIMILARITY_THREADS / 32 * PAMM_SIMILARITY_ROWS_PER_WARP)
#define PAMM_SIMILARITY_TILE_GENERATORS 64
#define PAMM_SIMILARITY_TILE_COLUMNS 32

template <typename E, typename F>
__device__ __forceinline__ void pamm_similarity_argmax(const typename E::storage* __restrict__ x, int rows, int columns,
                                                       const typename E::storage* __restrict__ generators, int k,
                                                       const float* __restrict__ squared_norms,
                                                       const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                                       const int* __restrict__ row_to_generator,
                                                       F* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    __shared__ float row_tile[PAMM_SIMILARITY_BLOCK_ROWS][PAMM_SIMILARITY_TILE_COLUMNS];
    // Column-major with one word of padding: lanes read 32 consecutive generators of one column
    // (no bank conflict), and the transposing stores of the staging loop conflict only two ways.
    __shared__ float generator_tile[PAMM_SIMILARITY_TILE_COLUMNS][PAMM_SIMILARITY_TILE_GENERATORS + 1];
    const int per_lane = PAMM_SIMILARITY_TILE_GENERATORS / 32;
    int lane = threadIdx.x & 31;
    int warp_first = (threadIdx.x >> 5) * PAMM_SIMILARITY_ROWS_PER_WARP;
    long long block_first = (long long)blockIdx.x * PAMM_SIMILARITY_BLOCK_ROWS;

    pamm_candidate best[PAMM_SIMILARITY_ROWS_PER_WARP];
    for (int r = 0; r < PAMM_SIMILARITY_ROWS_PER_WARP; ++r) best[r] = pamm_no_candidate();

    for (int first_generator = 0; first_generator < k; first_generator += PAMM_SIMILARITY_TILE_GENERATORS)
    {
        float dot[PAMM_SIMILARITY_ROWS_PER_WARP][per_lane];
        for (int r = 0; r < PAMM_SIMILARITY_ROWS_PER_WARP; ++r)
            for (int h = 0; h < per_lane; ++h) dot[r][h] = 0.0f;

        for (int first_column = 0; first_column < columns; first_column += PAMM_SIMILARITY_TILE_COLUMNS)
        {
            // Consecutive threads read consecutive columns of one row: coalesced.
            for (int e = threadIdx.x; e < PAMM_SIMILARITY_BLOCK_ROWS * PAMM_SIMILARITY_TILE_COLUMNS; e += blockDim.x)
            {
                int r = e / PAMM_SIMILARITY_TILE_COLUMNS, q = e % PAMM_SIMILARITY_TILE_COLUMNS;
                long long row = block_first + r;
                int column = first_column + q;
                row_tile[r][q] = row < rows && column < columns ? E::load(x[row * columns + column]) : 0.0f;
            }
            for (int e = threadIdx.x; e < PAMM_SIMILARITY_TILE_GENERATORS * PAMM_SIMILARITY_TILE_COLUMNS; e += blockDim.x)
            {
                int g = e / PAMM_SIMILARITY_TILE_COLUMNS, q = e % PAMM_SIMILARITY_TILE_COLUMNS;
                int j = first_generator + g, column = first_column + q;
                generator_tile[q][g] = j < k && column < columns ? E::load(generators[(long long)j * columns + column]) : 0.0f;
            }
            __syncthreads();
            int width = min(PAMM_SIMILARITY_TILE_COLUMNS, columns - first_column);
            for (int q = 0; q < width; ++q)
            {
                float c[per_lane];
                for (int h = 0; h < per_lane; ++h) c[h] = generator_tile[q][lane + 32 * h];
                for (int r = 0; r < PAMM_SIMILARITY_ROWS_PER_WARP; ++r)
                {
                    float v = row_tile[warp_first + r][q]; // the same word for the whole warp: a broadcast
                    for (int h = 0; h < per_lane; ++h) dot[r][h] = fmaf(v, c[h], dot[r][h]);
                }
            }
            __syncthreads(); // the tiles are overwritten next
        }

        for (int h = 0; h < per_lane; ++h)
        {
            int j = first_generator + lane + 32 * h;
            if (j >= k) continue;
            float squared_norm = squared_norms[j];
            for (int r = 0; r < PAMM_SIMILARITY_ROWS_PER_WARP; ++r) pamm_candidate_offer(best[r], dot[r][h], j, squared_norm);
        }
    }

    for (int r = 0; r < PAMM_SIMILARITY_ROWS_PER_WARP; ++r)
    {
        pamm_candidate winner = pamm_candidate_warp_best(best[r]);
        long long row = block_first + warp_first + r;
        if (lane == 0 && row < rows)
            pamm_assign_row<F>(row, winner, squared_norms, row_squared_norms, keep_threshold_bits, row_to_generator, assignment, alpha, dropped);
    }
}

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_f32_u16(const float* __restrict__ x, int rows, int columns, const float* __restrict__ generators, int k,
                               const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                               const int* __restrict__ row_to_generator, unsigned short* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_f32, unsigned short>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                                     row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_f32_u16)

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_f32_i32(const float* __restrict__ x, int rows, int columns, const float* __restrict__ generators, int k,
                               const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                               const int* __restrict__ row_to_generator, int* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_f32, int>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                          row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_f32_i32)

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_f16_u16(const unsigned short* __restrict__ x, int rows, int columns, const unsigned short* __restrict__ generators, int k,
                               const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                               const int* __restrict__ row_to_generator, unsigned short* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_f16, unsigned short>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                                     row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_f16_u16)

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_f16_i32(const unsigned short* __restrict__ x, int rows, int columns, const unsigned short* __restrict__ generators, int k,
                               const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                               const int* __restrict__ row_to_generator, int* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_f16, int>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                          row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_f16_i32)

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_bf16_u16(const unsigned short* __restrict__ x, int rows, int columns, const unsigned short* __restrict__ generators, int k,
                                const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                const int* __restrict__ row_to_generator, unsigned short* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_bf16, unsigned short>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                                      row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_bf16_u16)

extern "C" __global__ void __launch_bounds__(PAMM_SIMILARITY_THREADS)
pamm_similarity_argmax_bf16_i32(const unsigned short* __restrict__ x, int rows, int columns, const unsigned short* __restrict__ generators, int k,
                                const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                const int* __restrict__ row_to_generator, int* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_similarity_argmax<pamm_bf16, int>(x, rows, columns, generators, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                           row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_similarity_argmax_bf16_i32)
