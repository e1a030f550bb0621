#include "pamm_common.cuh"

// B̃_j = Σ_{f(i) = j} α_i G_i (k × m, float32) over the rows sorted by generator (pamm_radix_sort.cu).
// Grid (k, column slices): block j finds its group [begin, end) by binary search over the sorted
// keys, then each thread owns one 128-bit chunk of columns and walks the group's rows in ascending
// row order, accumulating in registers. Each sum has one owner and a fixed order: no float atomics,
// bitwise-deterministic results. Reads of G are row-contiguous across the block (coalesced).
#define PAMM_REDUCE_THREADS 128

__device__ __forceinline__ int pamm_lower_bound(const int* __restrict__ sorted_keys, int count, int key)
{
    int low = 0, high = count;
    while (low < high)
    {
        int middle = low + ((high - low) >> 1);
        if (sorted_keys[middle] < key) low = middle + 1; else high = middle;
    }
    return low;
}

template <typename E>
__device__ __forceinline__ void pamm_segmented_reduce(const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows,
                                                      int rows, const float* __restrict__ alpha,
                                                      const typename E::storage* __restrict__ gradient, int columns, int k,
                                                      float* __restrict__ reduced)
{
    __shared__ int group[2];
    const int width = pamm_vector<E>::width;
    int j = blockIdx.x;
    if (j >= k) return;
    if (threadIdx.x == 0)
    {
        group[0] = pamm_lower_bound(sorted_keys, rows, j);
        group[1] = pamm_lower_bound(sorted_keys, rows, j + 1);
    }
    __syncthreads();
    long long begin_column = ((long long)blockIdx.y * blockDim.x + threadIdx.x) * width;
    if (begin_column >= columns) return;
    int valid = (int)min((long long)width, columns - begin_column);
    bool vectorised = pamm_is_aligned16(gradient) && columns % width == 0;

    float sums[pamm_vector<E>::width];
    for (int e = 0; e < width; ++e) sums[e] = 0.0f;
    for (int position = group[0]; position < group[1]; ++position)
    {
        long long row = sorted_rows[position];
        float coefficient = alpha[row];
        float values[pamm_vector<E>::width];
        pamm_load_chunk<E>(gradient + row * (long long)columns + begin_column, valid, vectorised, values);
        for (int e = 0; e < width; ++e) sums[e] += coefficient * values[e];
    }
    float* target = reduced + (long long)j * columns + begin_column;
    if (columns % 4 == 0)
        for (int e = 0; e < valid; e += 4) *reinterpret_cast<float4*>(target + e) = make_float4(sums[e], sums[e + 1], sums[e + 2], sums[e + 3]);
    else
        for (int e = 0; e < valid; ++e) target[e] = sums[e];
}

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS)
pamm_segmented_reduce_f32(const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows, int rows,
                          const float* __restrict__ alpha, const float* __restrict__ gradient, int columns, int k,
                          float* __restrict__ reduced)
{
    pamm_segmented_reduce<pamm_f32>(sorted_keys, sorted_rows, rows, alpha, gradient, columns, k, reduced);
}
PAMM_EXPORT_KERNEL(pamm_segmented_reduce_f32)

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS)
pamm_segmented_reduce_f16(const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows, int rows,
                          const float* __restrict__ alpha, const unsigned short* __restrict__ gradient, int columns, int k,
                          float* __restrict__ reduced)
{
    pamm_segmented_reduce<pamm_f16>(sorted_keys, sorted_rows, rows, alpha, gradient, columns, k, reduced);
}
PAMM_EXPORT_KERNEL(pamm_segmented_reduce_f16)

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS)
pamm_segmented_reduce_bf16(const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows, int rows,
                           const float* __restrict__ alpha, const unsigned short* __restrict__ gradient, int columns, int k,
                           float* __restrict__ reduced)
{
    pamm_segmented_reduce<pamm_bf16>(sorted_keys, sorted_rows, rows, alpha, gradient, columns, k, reduced);
}
PAMM_EXPORT_KERNEL(pamm_segmented_reduce_bf16)
