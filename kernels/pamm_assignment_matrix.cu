#include "pamm_common.cuh"

// The assignment as a dense matrix, for the product's other sort-free form (design §8): Pᵀ, k × b row-major in G's
// dtype, with Pᵀ[j, i] = α_i where f(i) = j and +0 elsewhere, so that B̃ = Pᵀ G is one GEMM with reduction dimension b
// that reads G once (cuBLAS, tensor cores for 16-bit G). P depends on the compression alone, so it would be built once
// per compression in the place of the plan's sort. It is not on the engine's path: the stage benchmark times it and the
// GEMM beside the two reduction passes, which is what picks one (kernels/README.md, "P built densely and one GEMM").
//
// α is rounded once to P's dtype (exact for bfloat16 α and G); a dropped row has α = 0, so its column of Pᵀ is all zero.
// A thread owns a row i: it reads f(i) and α_i once and writes column i of Pᵀ, k elements, so a warp's stores to each
// row of Pᵀ are 32 consecutive elements. f's width in bytes (1, 2 or 4: AssignmentWidth) and α's dtype (a PAMM_DTYPE_*
// code) are arguments, read once a thread: one instance per dtype of P.
#define PAMM_ASSIGNMENT_MATRIX_THREADS 256

template <typename E>
__device__ __forceinline__ void pamm_assignment_matrix(const void* __restrict__ assignment, int assignment_bytes,
                                                       const void* __restrict__ alpha, int alpha_dtype, int rows, int k,
                                                       typename E::storage* __restrict__ matrix)
{
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    int generator = pamm_load_assignment(assignment, assignment_bytes, row);
    const typename E::storage value = E::store(pamm_load_dtype(alpha, alpha_dtype, row)), zero = E::store(0.0f);
    for (int j = 0; j < k; ++j) matrix[(long long)j * rows + row] = j == generator ? value : zero;
}

#define PAMM_ASSIGNMENT_MATRIX_PARAMETERS(P)                                                                           \
    const void* __restrict__ assignment, int assignment_bytes, const void* __restrict__ alpha, int alpha_dtype, int rows, \
    int k, P* __restrict__ matrix
#define PAMM_ASSIGNMENT_MATRIX_ARGUMENTS assignment, assignment_bytes, alpha, alpha_dtype, rows, k, matrix

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGNMENT_MATRIX_THREADS)
pamm_assignment_matrix_f32(PAMM_ASSIGNMENT_MATRIX_PARAMETERS(float))
{ pamm_assignment_matrix<pamm_f32>(PAMM_ASSIGNMENT_MATRIX_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assignment_matrix_f32)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGNMENT_MATRIX_THREADS)
pamm_assignment_matrix_f16(PAMM_ASSIGNMENT_MATRIX_PARAMETERS(unsigned short))
{ pamm_assignment_matrix<pamm_f16>(PAMM_ASSIGNMENT_MATRIX_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assignment_matrix_f16)

extern "C" __global__ void __launch_bounds__(PAMM_ASSIGNMENT_MATRIX_THREADS)
pamm_assignment_matrix_bf16(PAMM_ASSIGNMENT_MATRIX_PARAMETERS(unsigned short))
{ pamm_assignment_matrix<pamm_bf16>(PAMM_ASSIGNMENT_MATRIX_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_assignment_matrix_bf16)
