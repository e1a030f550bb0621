#include "pamm_common.cuh"

// ‖X_i‖² in float32, only needed for the ε neighbourhood test. A warp per row: rows are short
// (n in the thousands), and a warp reduction needs no shared memory or block barrier.
#define PAMM_ROW_NORMS_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_row_norms(const typename E::storage* __restrict__ x, int rows, int columns,
                                               float* __restrict__ squared_norms)
{
    typedef typename E::storage T;
    const int width = pamm_vector<E>::width;
    int lane = threadIdx.x & 31;
    long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const T* source = x + row * (long long)columns;
    bool vectorised = pamm_is_aligned16(source) && columns % width == 0;
    float sum = 0.0f;
    for (long long begin = (long long)lane * width; begin < columns; begin += 32ll * width)
    {
        float values[pamm_vector<E>::width];
        pamm_load_chunk<E>(source + begin, (int)min((long long)width, columns - begin), vectorised, values);
        for (int e = 0; e < width; ++e) sum += values[e] * values[e];
    }
    sum = pamm_warp_sum(sum);
    if (lane == 0) squared_norms[row] = sum;
}

#define PAMM_ROW_NORMS_PARAMETERS(T)                                                  \
    const T* __restrict__ x, int rows, int columns, float* __restrict__ squared_norms
#define PAMM_ROW_NORMS_ARGUMENTS    \
    x, rows, columns, squared_norms

extern "C" __global__ void __launch_bounds__(PAMM_ROW_NORMS_THREADS) pamm_row_norms_f32(PAMM_ROW_NORMS_PARAMETERS(float))
{ pamm_row_norms<pamm_f32>(PAMM_ROW_NORMS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_row_norms_f32)

extern "C" __global__ void __launch_bounds__(PAMM_ROW_NORMS_THREADS) pamm_row_norms_f16(PAMM_ROW_NORMS_PARAMETERS(unsigned short))
{ pamm_row_norms<pamm_f16>(PAMM_ROW_NORMS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_row_norms_f16)

extern "C" __global__ void __launch_bounds__(PAMM_ROW_NORMS_THREADS) pamm_row_norms_bf16(PAMM_ROW_NORMS_PARAMETERS(unsigned short))
{ pamm_row_norms<pamm_bf16>(PAMM_ROW_NORMS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_row_norms_bf16)

