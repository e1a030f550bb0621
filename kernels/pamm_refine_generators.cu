#include "pamm_common.cuh"

// Generator refinement (PammOptions.RefineGenerators), after the assignment; the rules are CpuGeneratorRefinement's.
// The engine first forms D = Pᵀ X (k × n, float32) with the dense assignment and one GEMM per similarity chunk, then:
//
// pamm_refine_generators: block j turns C_j to D_j at C_j's norm, C_j ← round(D_j · sqrt(‖C_j‖² / ‖D_j‖²)), unless that
// scale is not a positive finite number (an empty sum, rows of NaN or ∞: C_j stays), and writes the new ‖C_j‖² over the
// gather's, from the rounded values. Two block sums (fixed shuffle trees), so the same inputs give the same bits.
//
// pamm_refit_alpha: a warp per row i fits α_i ← ⟨X_i, C_f(i)⟩ / ‖C_f(i)‖² to the refined generator, where α_i ≠ 0 (a
// dropped, zero or orthogonal row keeps 0) and ‖C_f(i)‖² ≠ 0, and stores it in α's dtype. f's width and α's dtype are
// arguments (AssignmentWidth's bytes, a PAMM_DTYPE_* code), read once a warp: one instance per dtype of X.
#define PAMM_REFINE_THREADS 256
#define PAMM_REFIT_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_refine_generators(const float* __restrict__ sums, int columns,
                                                       typename E::storage* __restrict__ generators,
                                                       float* __restrict__ squared_norms)
{
    __shared__ float reduce_scratch[32];
    __shared__ float shared_scale;
    const long long j = blockIdx.x;
    const float* sum = sums + j * columns;
    float partial = 0.0f;
    for (int p = threadIdx.x; p < columns; p += blockDim.x) partial += sum[p] * sum[p];
    float sum_squared = pamm_block_sum(partial, reduce_scratch);
    if (threadIdx.x == 0)
    {
        float scale = sqrtf(squared_norms[j] / sum_squared);
        // NaN fails both comparisons: C_j stays where the scale is NaN, ∞ or 0.
        shared_scale = scale > 0.0f && scale <= 3.402823466e38f ? scale : 0.0f;
    }
    // Also orders warp 0's reads of reduce_scratch before the second block sum writes it.
    __syncthreads();
    const float scale = shared_scale;
    if (scale == 0.0f) return; // the whole block: C_j and its norm stay
    typename E::storage* generator = generators + j * columns;
    partial = 0.0f;
    for (int p = threadIdx.x; p < columns; p += blockDim.x)
    {
        typename E::storage stored = E::store(sum[p] * scale);
        generator[p] = stored;
        float value = E::load(stored);
        partial += value * value;
    }
    float norm_squared = pamm_block_sum(partial, reduce_scratch);
    if (threadIdx.x == 0) squared_norms[j] = norm_squared;
}

template <typename E>
__device__ __forceinline__ void pamm_refit_alpha(const typename E::storage* __restrict__ x, int rows, int columns,
                                                 const typename E::storage* __restrict__ generators,
                                                 const float* __restrict__ squared_norms, const void* __restrict__ assignment,
                                                 int assignment_bytes, void* __restrict__ alpha, int alpha_dtype)
{
    typedef typename E::storage T;
    const int width = pamm_vector<E>::width;
    int lane = threadIdx.x & 31;
    long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    // α is read and written by this row's warp alone, so plain loads (not the read-only path of pamm_load_dtype).
    float old_alpha = alpha_dtype == PAMM_DTYPE_BF16 ? pamm_bf16_to_f32(static_cast<const unsigned short*>(alpha)[row])
                                                     : static_cast<const float*>(alpha)[row];
    if (old_alpha == 0.0f) return; // the whole warp: a row with α = 0 keeps it
    int j = pamm_load_assignment(assignment, assignment_bytes, row);
    float norm_squared = squared_norms[j];
    const T* source = x + row * (long long)columns;
    const T* generator = generators + j * (long long)columns;
    bool vectorised = pamm_is_aligned16(source) && pamm_is_aligned16(generator) && columns % width == 0;
    float dot = 0.0f;
    for (long long begin = (long long)lane * width; begin < columns; begin += 32ll * width)
    {
        int valid = (int)min((long long)width, columns - begin);
        float values[pamm_vector<E>::width], weights[pamm_vector<E>::width];
        pamm_load_chunk<E>(source + begin, valid, vectorised, values);
        pamm_load_chunk<E>(generator + begin, valid, vectorised, weights);
        for (int e = 0; e < width; ++e) dot += values[e] * weights[e];
    }
    dot = pamm_warp_sum(dot);
    if (lane == 0) pamm_store_dtype(alpha, alpha_dtype, row, norm_squared != 0.0f ? dot / norm_squared : 0.0f);
}

#define PAMM_REFINE_GENERATORS_PARAMETERS(T) \
    const float* __restrict__ sums, int columns, T* __restrict__ generators, float* __restrict__ squared_norms
#define PAMM_REFINE_GENERATORS_ARGUMENTS sums, columns, generators, squared_norms

extern "C" __global__ void __launch_bounds__(PAMM_REFINE_THREADS) pamm_refine_generators_f32(PAMM_REFINE_GENERATORS_PARAMETERS(float))
{ pamm_refine_generators<pamm_f32>(PAMM_REFINE_GENERATORS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refine_generators_f32)

extern "C" __global__ void __launch_bounds__(PAMM_REFINE_THREADS) pamm_refine_generators_f16(PAMM_REFINE_GENERATORS_PARAMETERS(unsigned short))
{ pamm_refine_generators<pamm_f16>(PAMM_REFINE_GENERATORS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refine_generators_f16)

extern "C" __global__ void __launch_bounds__(PAMM_REFINE_THREADS) pamm_refine_generators_bf16(PAMM_REFINE_GENERATORS_PARAMETERS(unsigned short))
{ pamm_refine_generators<pamm_bf16>(PAMM_REFINE_GENERATORS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refine_generators_bf16)

#define PAMM_REFIT_ALPHA_PARAMETERS(T)                                                                                 \
    const T* __restrict__ x, int rows, int columns, const T* __restrict__ generators,                                   \
    const float* __restrict__ squared_norms, const void* __restrict__ assignment, int assignment_bytes,                 \
    void* __restrict__ alpha, int alpha_dtype
#define PAMM_REFIT_ALPHA_ARGUMENTS \
    x, rows, columns, generators, squared_norms, assignment, assignment_bytes, alpha, alpha_dtype

extern "C" __global__ void __launch_bounds__(PAMM_REFIT_THREADS) pamm_refit_alpha_f32(PAMM_REFIT_ALPHA_PARAMETERS(float))
{ pamm_refit_alpha<pamm_f32>(PAMM_REFIT_ALPHA_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refit_alpha_f32)

extern "C" __global__ void __launch_bounds__(PAMM_REFIT_THREADS) pamm_refit_alpha_f16(PAMM_REFIT_ALPHA_PARAMETERS(unsigned short))
{ pamm_refit_alpha<pamm_f16>(PAMM_REFIT_ALPHA_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refit_alpha_f16)

extern "C" __global__ void __launch_bounds__(PAMM_REFIT_THREADS) pamm_refit_alpha_bf16(PAMM_REFIT_ALPHA_PARAMETERS(unsigned short))
{ pamm_refit_alpha<pamm_bf16>(PAMM_REFIT_ALPHA_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_refit_alpha_bf16)
