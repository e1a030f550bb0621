// The assignment rules of PAMM in one place, used by pamm_assign.cu (S from a cuBLAS GEMM); kept apart from
// it so that another way of computing the similarities applies the very same rules.
// Same rules and arithmetic as src/PammCuda/Cpu/CpuAssignment.cs.
#pragma once
#include "pamm_common.cuh"

// A row's best generator so far: its score |s_ij| / ‖C_j‖, its index (-1 for none) and s_ij itself.
struct pamm_candidate
{
    float score;
    int index;
    float similarity;
};

__device__ __forceinline__ pamm_candidate pamm_no_candidate()
{
    pamm_candidate none;
    none.score = 0.0f;
    none.index = -1;
    none.similarity = 0.0f;
    return none;
}

// One total order, so that the winner does not depend on which thread saw which generator, nor in what
// order: an eligible generator beats none; a number beats NaN; a larger score wins; equal scores go to
// the smaller j.
__device__ __forceinline__ bool pamm_candidate_better(pamm_candidate a, pamm_candidate b)
{
    if (a.index < 0) return false;
    if (b.index < 0) return true;
    bool a_nan = isnan(a.score), b_nan = isnan(b.score);
    if (a_nan != b_nan) return b_nan;
    if (!a_nan && a.score != b.score) return a.score > b.score;
    return a.index < b.index;
}

// Offers generator j with similarity s_ij; a generator with ‖C_j‖² = 0 is never chosen. One of NaN norm is (as on the
// CPU): its NaN score loses to any number, so it wins only a row whose every score is NaN, by the smallest index.
__device__ __forceinline__ void pamm_candidate_offer(pamm_candidate& best, float similarity, int j, float squared_norm)
{
    if (squared_norm == 0.0f) return;
    pamm_candidate offered;
    offered.score = fabsf(similarity) / sqrtf(squared_norm);
    offered.index = j;
    offered.similarity = similarity;
    if (pamm_candidate_better(offered, best)) best = offered;
}

// The warp's best candidate, complete in lane 0.
__device__ __forceinline__ pamm_candidate pamm_candidate_warp_best(pamm_candidate best)
{
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        pamm_candidate other;
        other.score = __shfl_down_sync(PAMM_FULL_WARP, best.score, offset);
        other.index = __shfl_down_sync(PAMM_FULL_WARP, best.index, offset);
        other.similarity = __shfl_down_sync(PAMM_FULL_WARP, best.similarity, offset);
        if (pamm_candidate_better(other, best)) best = other;
    }
    return best;
}

// f and α of one row from its best candidate (one thread per row); α is stored as A (pamm_f32 or pamm_bf16).
// A generator row is its own generator with α = 1 exactly. With ε < 1 (row_squared_norms given), a row
// with csim² < 1 − ε² (in double, like the CPU; 1 − ε² arrives as the bits of a double) is dropped:
// α = 0 and the dropped count grows by one (integer atomics, so the count is deterministic). Zero rows
// are never dropped; nor are NaN rows (NaN < threshold is false), so NaN reaches the product.
template <typename F, typename A>
__device__ __forceinline__ void pamm_assign_row(long long row, pamm_candidate best, const float* __restrict__ squared_norms,
                                                const float* __restrict__ row_squared_norms, unsigned long long keep_threshold_bits,
                                                const int* __restrict__ row_to_generator,
                                                const int* __restrict__ generator_rows, int k,
                                                F* __restrict__ assignment, typename A::storage* __restrict__ alpha,
                                                int* __restrict__ dropped)
{
    // The row map is not cleared between compressions (pamm_gather.cu): an entry counts only where it names a generator
    // whose row is this one, so whatever an earlier compression or nobody left in it cannot make a row a generator.
    int own_generator = row_to_generator[row];
    if (own_generator >= 0 && own_generator < k && generator_rows[own_generator] == row)
    {
        assignment[row] = (F)own_generator;
        alpha[row] = A::store(1.0f);
        return;
    }
    bool test = row_squared_norms != 0;
    double keep_threshold = pamm_double_from_bits(keep_threshold_bits);
    float row_norm2 = test ? row_squared_norms[row] : 1.0f;
    bool zero_row = test && row_norm2 == 0.0f;
    if (best.index < 0)
    {
        // No eligible generator: X̃_i = 0, so csim² = 0 and only ε ≥ 1 (no test) keeps a nonzero row.
        assignment[row] = (F)0;
        alpha[row] = A::store(0.0f);
        if (test && !zero_row && 0.0 < keep_threshold) atomicAdd(dropped, 1);
        return;
    }
    float similarity = best.similarity, norm2 = squared_norms[best.index];
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
    assignment[row] = (F)best.index;
    alpha[row] = A::store(coefficient); // A = pamm_bf16: rounded to nearest-even, as the CPU rounds it
}
