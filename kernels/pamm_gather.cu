#include "pamm_common.cuh"

// C_j = X[S_j] in X's dtype, ‖C_j‖² in float32, and the row → generator map entry of each generator row, which lets the
// assignment recognise generator rows. The map is never cleared: the assignment trusts an entry only where it names a
// generator whose row is the one it looks up (pamm_assign_rules.cuh), so stale or uninitialised entries of other rows
// cost nothing, and a compression needs no fill of b ints before this launch. One block per generator; each
// thread owns 128-bit chunks of the row so the copy is vectorised where X, C and n allow it.
// Block 0 also writes the constants 1 and 0 that the similarity GEMM reads as its α and β (pointer mode device) into
// the compression's workspace: so an engine keeps no device memory of its own, and creating one on a stream that is
// being captured into a CUDA graph allocates nothing. And it zeroes the dropped count η (`dropped`, when not null),
// which the assignment only counts up, and only when ε < 1: with ε ≥ 1 (the default) no fill of η precedes the
// assignment, one queued operation fewer per compression.
#define PAMM_GATHER_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_gather(const typename E::storage* __restrict__ x, int columns,
                                            const int* __restrict__ generator_rows, int k,
                                            typename E::storage* __restrict__ generators,
                                            float* __restrict__ squared_norms, int* __restrict__ row_to_generator,
                                            float* __restrict__ gemm_constants, int* __restrict__ dropped)
{
    __shared__ float reduce_scratch[32];
    typedef typename E::storage T;
    const int width = pamm_vector<E>::width;
    int j = blockIdx.x;
    if (j == 0 && threadIdx.x == 0)
    {
        gemm_constants[0] = 1.0f;
        gemm_constants[1] = 0.0f;
        if (dropped) *dropped = 0;
    }
    if (j >= k) return;
    long long row = generator_rows[j];
    const T* source = x + row * (long long)columns;
    T* target = generators + (long long)j * columns;
    bool vectorised = pamm_is_aligned16(source) && pamm_is_aligned16(target) && columns % width == 0;

    float sum = 0.0f;
    for (long long begin = (long long)threadIdx.x * width; begin < columns; begin += (long long)blockDim.x * width)
    {
        int valid = (int)min((long long)width, columns - begin);
        if (vectorised)
            *reinterpret_cast<uint4*>(target + begin) = *reinterpret_cast<const uint4*>(source + begin);
        else
            for (int e = 0; e < valid; ++e) target[begin + e] = source[begin + e];
        float values[pamm_vector<E>::width];
        pamm_load_chunk<E>(source + begin, valid, vectorised, values);
        for (int e = 0; e < width; ++e) sum += values[e] * values[e];
    }
    float total = pamm_block_sum(sum, reduce_scratch);
    if (threadIdx.x == 0)
    {
        squared_norms[j] = total;
        row_to_generator[row] = j;
    }
}

#define PAMM_GATHER_PARAMETERS(T)                                                                     \
    const T* __restrict__ x, int columns, const int* __restrict__ generator_rows, int k,              \
    T* __restrict__ generators, float* __restrict__ squared_norms, int* __restrict__ row_to_generator, \
    float* __restrict__ gemm_constants, int* __restrict__ dropped
#define PAMM_GATHER_ARGUMENTS                                                                  \
    x, columns, generator_rows, k, generators, squared_norms, row_to_generator, gemm_constants, dropped

extern "C" __global__ void __launch_bounds__(PAMM_GATHER_THREADS) pamm_gather_f32(PAMM_GATHER_PARAMETERS(float))
{ pamm_gather<pamm_f32>(PAMM_GATHER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_gather_f32)

extern "C" __global__ void __launch_bounds__(PAMM_GATHER_THREADS) pamm_gather_f16(PAMM_GATHER_PARAMETERS(unsigned short))
{ pamm_gather<pamm_f16>(PAMM_GATHER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_gather_f16)

extern "C" __global__ void __launch_bounds__(PAMM_GATHER_THREADS) pamm_gather_bf16(PAMM_GATHER_PARAMETERS(unsigned short))
{ pamm_gather<pamm_bf16>(PAMM_GATHER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_gather_bf16)

