#include "pamm_common.cuh"

// Widening of a 16-bit matrix to float32, so that a GEMM whose other operand is float32 (B̃, or a
// gradient of another dtype) can run with both operands in float32.
#define PAMM_CONVERT_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_convert_to_f32(const typename E::storage* __restrict__ source, long long count,
                                                    float* __restrict__ target)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride)
        target[i] = E::load(source[i]);
}

#define PAMM_CONVERT_PARAMETERS(T)                                            \
    const T* __restrict__ source, long long count, float* __restrict__ target
#define PAMM_CONVERT_ARGUMENTS \
    source, count, target

extern "C" __global__ void __launch_bounds__(PAMM_CONVERT_THREADS) pamm_convert_to_f32_f16(PAMM_CONVERT_PARAMETERS(unsigned short))
{ pamm_convert_to_f32<pamm_f16>(PAMM_CONVERT_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_convert_to_f32_f16)

extern "C" __global__ void __launch_bounds__(PAMM_CONVERT_THREADS) pamm_convert_to_f32_bf16(PAMM_CONVERT_PARAMETERS(unsigned short))
{ pamm_convert_to_f32<pamm_bf16>(PAMM_CONVERT_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_convert_to_f32_bf16)

