#include "pamm_common.cuh"

// Epilogue of a product whose output is 16-bit: out = round(product + c·out), where `product`
// (float32) already carries a·β. Rounding once, after the accumulation, is what cuBLAS would do
// with a 16-bit C. With c = 0 the output is not read, so garbage (or NaN) in it cannot leak in.
#define PAMM_STORE_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_store_output(const float* __restrict__ product, long long count, float c,
                                                  typename E::storage* __restrict__ output)
{
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        float value = product[i];
        if (c != 0.0f) value += c * E::load(output[i]);
        output[i] = E::store(value);
    }
}

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS)
pamm_store_output_f16(const float* __restrict__ product, long long count, float c, unsigned short* __restrict__ output)
{
    pamm_store_output<pamm_f16>(product, count, c, output);
}
PAMM_EXPORT_KERNEL(pamm_store_output_f16)

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS)
pamm_store_output_bf16(const float* __restrict__ product, long long count, float c, unsigned short* __restrict__ output)
{
    pamm_store_output<pamm_bf16>(product, count, c, output);
}
PAMM_EXPORT_KERNEL(pamm_store_output_bf16)
