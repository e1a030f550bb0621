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

#define PAMM_STORE_OUTPUT_PARAMETERS(T)                                                 \
    const float* __restrict__ product, long long count, float c, T* __restrict__ output
#define PAMM_STORE_OUTPUT_ARGUMENTS \
    product, count, c, output

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS) pamm_store_output_f16(PAMM_STORE_OUTPUT_PARAMETERS(unsigned short))
{ pamm_store_output<pamm_f16>(PAMM_STORE_OUTPUT_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_store_output_f16)

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS) pamm_store_output_bf16(PAMM_STORE_OUTPUT_PARAMETERS(unsigned short))
{ pamm_store_output<pamm_bf16>(PAMM_STORE_OUTPUT_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_store_output_bf16)

// The fused projection's epilogue: the first `columns` of each row of the float32 GEMM output (row stride
// source_stride, the similarities S following them) into the caller's dense rows × columns output of its dtype,
// rounded once as cuBLAS rounds a 16-bit C. float32 is a strided copy: the GEMM's one leading dimension spans
// [X Wᵀ | S], and the caller's output has none of S's columns.
template <typename E>
__device__ __forceinline__ void pamm_store_columns(const float* __restrict__ source, long long source_stride, int rows,
                                                   int columns, typename E::storage* __restrict__ output)
{
    long long count = (long long)rows * columns;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        long long row = i / columns;
        output[i] = E::store(source[row * source_stride + (i - row * columns)]);
    }
}

#define PAMM_STORE_COLUMNS_PARAMETERS(T)                                                                     \
    const float* __restrict__ source, long long source_stride, int rows, int columns, T* __restrict__ output
#define PAMM_STORE_COLUMNS_ARGUMENTS             \
    source, source_stride, rows, columns, output

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS) pamm_store_columns_f32(PAMM_STORE_COLUMNS_PARAMETERS(float))
{ pamm_store_columns<pamm_f32>(PAMM_STORE_COLUMNS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_store_columns_f32)

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS) pamm_store_columns_f16(PAMM_STORE_COLUMNS_PARAMETERS(unsigned short))
{ pamm_store_columns<pamm_f16>(PAMM_STORE_COLUMNS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_store_columns_f16)

extern "C" __global__ void __launch_bounds__(PAMM_STORE_THREADS) pamm_store_columns_bf16(PAMM_STORE_COLUMNS_PARAMETERS(unsigned short))
{ pamm_store_columns<pamm_bf16>(PAMM_STORE_COLUMNS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_store_columns_bf16)

