#include "pamm_common.cuh"

// f(i) = argmax_j |s_ij| / ‖C_j‖ and α_i = s_i,f / ‖C_f‖² for one chunk of rows of the similarity
// matrix S (row-major rows × k, as the GEMM wrote it). A warp per row: lanes stride over the k
// similarities (coalesced), then a shuffle reduction under one total order, so the winner does not
// depend on which lane saw what:
//   an eligible generator (‖C_j‖² > 0) beats none; a number beats NaN; a larger score wins; equal
//   scores go to the smaller j.
// A generator row is its own generator with α = 1 exactly. With ε < 1 (row_squared_norms given), a
// row with csim² < 1 − ε² (in double, like the CPU; 1 − ε² arrives as the bits of a double) is
// dropped: α = 0 and the dropped count grows by one (integer atomics, so the count is deterministic).
// Zero rows are never dropped; nor are NaN rows (NaN < threshold is false), so NaN reaches the product.
#define PAMM_ASSIGN_THREADS 256

__device__ __forceinline__ bool pamm_assign_better(float score, int j, float best_score, int best)
{
    if (j < 0) return false;
    if (best < 0) return true;
    bool score_nan = isnan(score), best_nan = isnan(best_score);
    if (score_nan != best_nan) return best_nan;
    if (!score_nan && score != best_score) return score > best_score;
    return j < best;
}

template <typename F>
__device__ __forceinline__ void pamm_assign(const float* __restrict__ similarities, long long first_row, int chunk_rows, int k,
                                            const float* __restrict__ squared_norms,
                                            const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                            const int* __restrict__ row_to_generator,
                                            F* __restrict__ assignment, float* __restrict__ alpha, int* __restrict__ dropped)
{
    int lane = threadIdx.x & 31;
    long long local_row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (local_row >= chunk_rows) return; // the whole warp leaves together
    long long row = first_row + local_row;

    int own_generator = row_to_generator[row];
    if (own_generator >= 0)
    {
        if (lane == 0) { assignment[row] = (F)own_generator; alpha[row] = 1.0f; }
        return;
    }

    const float* s = similarities + local_row * k;
    float best_score = 0.0f;
    int best = -1;
    for (int j = lane; j < k; j += 32)
    {
        float norm2 = squared_norms[j];
        if (!(norm2 > 0.0f)) continue;
        float score = fabsf(s[j]) / sqrtf(norm2);
        if (pamm_assign_better(score, j, best_score, best)) { best_score = score; best = j; }
    }
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        float other_score = __shfl_down_sync(PAMM_FULL_WARP, best_score, offset);
        int other = __shfl_down_sync(PAMM_FULL_WARP, best, offset);
        if (pamm_assign_better(other_score, other, best_score, best)) { best_score = other_score; best = other; }
    }
    if (lane != 0) return;

    // From here on, the same rules and arithmetic as src/PammCuda/Cpu/CpuAssignment.cs.
    bool test = row_squared_norms != 0;
    double keep_threshold = pamm_double_from_bits(keep_threshold_bits);
    float row_norm2 = test ? row_squared_norms[row] : 1.0f;
    bool zero_row = test && row_norm2 == 0.0f;
    if (best < 0)
    {
        // No eligible generator: X̃_i = 0, so csim² = 0 and only ε ≥ 1 (no test) keeps a nonzero row.
        assignment[row] = (F)0;
        alpha[row] = 0.0f;
        if (test && !zero_row && 0.0 < keep_threshold) atomicAdd(dropped, 1);
        return;
    }
    float similarity = s[best], norm2 = squared_norms[best];
    float coefficient = similarity / norm2;
    if (test && !zero_row)
    {
        double cosine2 = (double)similarity * similarity / ((double)row_norm2 * norm2);
        // "Below" rather than "not above": a NaN similarity keeps the row, so its NaN α reaches the product.
        if (cosine2 < keep_threshold)
        {
            coefficient = 0.0f;
            atomicAdd(dropped, 1);
        }
    }
    assignment[row] = (F)best;
    alpha[row] = coefficient;
}

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS)
pamm_assign_u16(const float* __restrict__ similarities, long long first_row, int chunk_rows, int k,
                const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                const int* __restrict__ row_to_generator, unsigned short* __restrict__ assignment,
                float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_assign<unsigned short>(similarities, first_row, chunk_rows, k, squared_norms, row_squared_norms, keep_threshold_bits,
                                row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_assign_u16)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGN_THREADS)
pamm_assign_i32(const float* __restrict__ similarities, long long first_row, int chunk_rows, int k,
                const float* __restrict__ squared_norms, const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                const int* __restrict__ row_to_generator, int* __restrict__ assignment,
                float* __restrict__ alpha, int* __restrict__ dropped)
{
    pamm_assign<int>(similarities, first_row, chunk_rows, k, squared_norms, row_squared_norms, keep_threshold_bits,
                     row_to_generator, assignment, alpha, dropped);
}
PAMM_EXPORT_KERNEL(pamm_assign_i32)
