#include "pamm_common.cuh"
#include "pamm_assign_rules.cuh"

// f and α for one chunk of rows of the similarity matrix S (row-major rows × k with a row stride of
// similarity_stride ≥ k floats, as the GEMM wrote it: k for the compression's own similarity GEMM, m + k when S is the
// last k columns of the fused projection [X Wᵀ | X Cᵀ]), by the rules of pamm_assign_rules.cuh. A warp per row: lanes stride over the k similarities
// (coalesced), then a shuffle reduction under the rules' total order.
#define PAMM_ASSIGN_THREADS 256

template <typename F, typename A>
__device__ __forceinline__ void pamm_assign(const float* __restrict__ similarities, long long first_row, int chunk_rows, int k,
                                            long long similarity_stride, const float* __restrict__ squared_norms,
                                            const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                            const int* __restrict__ row_to_generator, const int* __restrict__ generator_rows,
                                            F* __restrict__ assignment, typename A::storage* __restrict__ alpha, int* __restrict__ dropped)
{
    int lane = threadIdx.x & 31;
    long long local_row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (local_row >= chunk_rows) return; // the whole warp leaves together
    long long row = first_row + local_row;

    const float* s = similarities + local_row * similarity_stride;
    pamm_candidate best = pamm_no_candidate();
    for (int j = lane; j < k; j += 32) pamm_candidate_offer(best, s[j], j, squared_norms[j]);
    best = pamm_candidate_warp_best(best);
    if (lane == 0)
        pamm_assign_row<F, A>(row, best, squared_norms, row_squared_norms, keep_threshold_bits, row_to_generator, generator_rows, k,
                              assignment, alpha, dropped);
}

// The parameters and the call of every instance (f of type F, α stored as A), written once: each instance below is its
// name, its types and PAMM_EXPORT_KERNEL (KernelSources expands the parameter macro to check launches against it).
#define PAMM_ASSIGN_PARAMETERS(F, A)                                                                                     \
    const float* __restrict__ similarities, long long first_row, int chunk_rows, int k, long long similarity_stride,      \
    const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms,                                 \
    unsigned long long keep_threshold_bits, const int* __restrict__ row_to_generator,                                    \
    const int* __restrict__ generator_rows, F* __restrict__ assignment, A* __restrict__ alpha, int* __restrict__ dropped
#define PAMM_ASSIGN_ARGUMENTS                                                                                            \
    similarities, first_row, chunk_rows, k, similarity_stride, squared_norms, row_squared_norms, keep_threshold_bits,     \
    row_to_generator, generator_rows, assignment, alpha, dropped

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_u8(PAMM_ASSIGN_PARAMETERS(unsigned char, float))
{ pamm_assign<unsigned char, pamm_f32>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_u8)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_u16(PAMM_ASSIGN_PARAMETERS(unsigned short, float))
{ pamm_assign<unsigned short, pamm_f32>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_u16)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_i32(PAMM_ASSIGN_PARAMETERS(int, float))
{ pamm_assign<int, pamm_f32>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_i32)

// α stored as bfloat16 (PammOptions.AlphaType): 2 bytes a row instead of 4.
extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_alpha_bf16_u8(PAMM_ASSIGN_PARAMETERS(unsigned char, unsigned short))
{ pamm_assign<unsigned char, pamm_bf16>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_alpha_bf16_u8)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_alpha_bf16_u16(PAMM_ASSIGN_PARAMETERS(unsigned short, unsigned short))
{ pamm_assign<unsigned short, pamm_bf16>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_alpha_bf16_u16)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS) pamm_assign_alpha_bf16_i32(PAMM_ASSIGN_PARAMETERS(int, unsigned short))
{ pamm_assign<int, pamm_bf16>(PAMM_ASSIGN_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assign_alpha_bf16_i32)
