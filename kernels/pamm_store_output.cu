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

// One extern "C" instance per element type E, named pamm_store_output_<suffix>; the signature is written once. 16-bit only.
#define PAMM_STORE_OUTPUT_KERNEL(suffix, E)                                                                            \
    extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS)                                                   \
    pamm_store_output_##suffix(const float* __restrict__ product, long long count, float c, E::storage* __restrict__ output) \
    {                                                                                                                  \
        pamm_store_output<E>(product, count, c, output);                                                               \
    }                                                                                                                  \
    PAMM_EXPORT_KERNEL(pamm_store_output_##suffix)

PAMM_STORE_OUTPUT_KERNEL(f16, pamm_f16)
PAMM_STORE_OUTPUT_KERNEL(bf16, pamm_bf16)
