#include "pamm_common.cuh"

// B̃_j = Σ_{f(i) = j} α_i G_i (k × m, float32) over the rows sorted by generator (pamm_radix_sort.cu),
// in two fixed-order passes so that the grid fills the GPU whatever k is and no float atomics are needed:
// 1. pamm_reduce_chunks: grid (chunks of PAMM_REDUCE_CHUNK sorted positions, column slices). A block
//    stages its chunk's keys, rows and α in shared memory, then each thread owns one 128-bit chunk of
//    columns and walks the positions in order, accumulating in registers; when the key changes it
//    stores the finished piece. The piece of group j in chunk c goes to partial row c + j: groups are
//    contiguous and sorted, so no two pieces share a row (rows: chunks + k − 1).
//    Its first column slice also writes where each group starts in the sorted order (group_starts, k + 1 ints).
// 2. pamm_reduce_groups: block j adds its group's pieces (chunks ⌊begin/R⌋ … ⌊(end − 1)/R⌋) in chunk order,
//    begin and end read from group_starts.
// Each sum has one owner and a fixed order: bitwise-deterministic results. A group inside one chunk gets
// exactly the sequential sum. Reads of G are row-contiguous across the block (coalesced, 128-bit).
// Both passes take a batch of products (pamm_common.cuh): grid.z is the product, grid.y spans the widest one's column
// slices (a narrower product's blocks past its columns return), and each product's partial sums and B̃ lie at its
// offset in the batch's scratch. The sorted order and group_starts are the compression's, the same for every product.
#define PAMM_REDUCE_THREADS 128
#define PAMM_REDUCE_CHUNK 32
#define PAMM_REDUCE_GROUP_THREADS 256
// Rows of G whose 128-bit loads a thread of the first pass issues together (a divisor of PAMM_REDUCE_CHUNK).
#define PAMM_REDUCE_LOADS_IN_FLIGHT 4
// Partial sums a thread of the second pass loads before it adds them (in order).
#define PAMM_REDUCE_GROUP_LOADS 16

// Rows of partial sums a product's first pass writes: one per (chunk, group) piece, chunks + k − 1 (PammKernels.ReducePieces).
__device__ __forceinline__ long long pamm_reduce_pieces(int rows, int k)
{
    return ((long long)rows + PAMM_REDUCE_CHUNK - 1) / PAMM_REDUCE_CHUNK + k - 1;
}

// `vectorised` needs 16-byte aligned rows (columns % 4 == 0), which also makes `valid` a multiple of 4.
template <int W>
__device__ __forceinline__ void pamm_store_piece(float* __restrict__ target, int valid, bool vectorised, const float (&sums)[W])
{
    if (vectorised)
        for (int e = 0; e < valid; e += 4) *reinterpret_cast<float4*>(target + e) = make_float4(sums[e], sums[e + 1], sums[e + 2], sums[e + 3]);
    else
        for (int e = 0; e < valid; ++e) target[e] = sums[e];
}

// α's dtype (float32, or bfloat16 where PammOptions.AlphaType asks) is an argument, a PAMM_DTYPE_* code: α is read once
// per sorted position into shared memory, before the loop over G, so the branch costs nothing there, and it keeps one
// instance per G dtype (3, where a template parameter made 6 and twice NVRTC's time).
template <typename E>
__device__ __forceinline__ void pamm_reduce_chunks(const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows,
                                                   int rows, const void* __restrict__ alpha, int alpha_dtype,
                                                   const typename E::storage* __restrict__ gradient0,
                                                   const typename E::storage* __restrict__ gradient1,
                                                   const typename E::storage* __restrict__ gradient2, int columns0, int columns1,
                                                   int columns2, float* __restrict__ partials, int k, int* __restrict__ group_starts)
{
    const typename E::storage* __restrict__ gradient = pamm_batch_pick(gradient0, gradient1, gradient2);
    int columns = pamm_batch_pick(columns0, columns1, columns2);
    partials += pamm_reduce_pieces(rows, k) * pamm_batch_offset(columns0, columns1);
    __shared__ int chunk_keys[PAMM_REDUCE_CHUNK];
    __shared__ long long chunk_rows[PAMM_REDUCE_CHUNK];
    __shared__ float chunk_alpha[PAMM_REDUCE_CHUNK];
    const int width = pamm_vector<E>::width;
    int chunk = blockIdx.x;
    long long first = (long long)chunk * PAMM_REDUCE_CHUNK;
    int count = (int)min((long long)PAMM_REDUCE_CHUNK, rows - first);
    if (threadIdx.x < count)
    {
        int row = sorted_rows[first + threadIdx.x];
        chunk_keys[threadIdx.x] = sorted_keys[first + threadIdx.x];
        chunk_rows[threadIdx.x] = row;
        chunk_alpha[threadIdx.x] = pamm_load_dtype(alpha, alpha_dtype, row);
    }
    __syncthreads();
    // Where each group starts in the sorted order, group_starts[j] for j = 0 … k (an empty group starts where the next
    // one does; group_starts[k] = rows), from the keys this block has staged anyway: each entry is written by the one
    // position the keys pass it at. The second pass reads two of them, where it searched the sorted keys before (two
    // binary searches of ~log₂ b dependent loads, by one thread, at the start of every block).
    if (blockIdx.y == 0 && blockIdx.z == 0 && threadIdx.x < count)
    {
        int position = (int)first + (int)threadIdx.x, key = chunk_keys[threadIdx.x];
        int previous = threadIdx.x > 0 ? chunk_keys[threadIdx.x - 1] : position > 0 ? sorted_keys[position - 1] : -1;
        for (int j = previous + 1; j <= key; ++j) group_starts[j] = position;
        if (position == rows - 1)
            for (int j = key + 1; j <= k; ++j) group_starts[j] = rows;
    }
    long long begin_column = ((long long)blockIdx.y * blockDim.x + threadIdx.x) * width;
    if (begin_column >= columns) return;
    int valid = (int)min((long long)width, columns - begin_column);
    bool vectorised = pamm_is_aligned16(gradient) && columns % width == 0;

    float sums[pamm_vector<E>::width];
    for (int e = 0; e < width; ++e) sums[e] = 0.0f;
    int group = chunk_keys[0];
    for (int base = 0; base < count; base += PAMM_REDUCE_LOADS_IN_FLIGHT)
    {
        // The next rows' loads are all issued before the first is used (a position past the chunk loads the last row
        // again, unused), so each thread keeps several reads of G in flight instead of one: the pass is bound by
        // bandwidth, not by one load's latency. The sums below are the same, in the same order.
        uint4 words[PAMM_REDUCE_LOADS_IN_FLIGHT];
#pragma unroll
        for (int u = 0; u < PAMM_REDUCE_LOADS_IN_FLIGHT; ++u)
            words[u] = pamm_load_word<E>(gradient + chunk_rows[min(base + u, count - 1)] * (long long)columns + begin_column, valid,
                                         vectorised);
#pragma unroll
        for (int u = 0; u < PAMM_REDUCE_LOADS_IN_FLIGHT; ++u)
        {
            int position = base + u;
            if (position >= count) break;
            if (chunk_keys[position] != group)
            {
                pamm_store_piece(partials + (long long)(chunk + group) * columns + begin_column, valid, columns % 4 == 0, sums);
                for (int e = 0; e < width; ++e) sums[e] = 0.0f;
                group = chunk_keys[position];
            }
            float coefficient = chunk_alpha[position], values[pamm_vector<E>::width];
            pamm_vector<E>::unpack(words[u], values);
            for (int e = 0; e < width; ++e) sums[e] += coefficient * values[e];
        }
    }
    pamm_store_piece(partials + (long long)(chunk + group) * columns + begin_column, valid, columns % 4 == 0, sums);
}

#define PAMM_REDUCE_CHUNKS_PARAMETERS(G)                                                                              \
    const int* __restrict__ sorted_keys, const int* __restrict__ sorted_rows, int rows,                            \
    const void* __restrict__ alpha, int alpha_dtype, const G* __restrict__ gradient0, const G* __restrict__ gradient1, \
    const G* __restrict__ gradient2, int columns0, int columns1, int columns2, float* __restrict__ partials, int k,     \
    int* __restrict__ group_starts
#define PAMM_REDUCE_CHUNKS_ARGUMENTS                                                                                \
    sorted_keys, sorted_rows, rows, alpha, alpha_dtype, gradient0, gradient1, gradient2, columns0, columns1, columns2, \
    partials, k, group_starts

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS) pamm_reduce_chunks_f32(PAMM_REDUCE_CHUNKS_PARAMETERS(float))
{ pamm_reduce_chunks<pamm_f32>(PAMM_REDUCE_CHUNKS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_reduce_chunks_f32)

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS) pamm_reduce_chunks_f16(PAMM_REDUCE_CHUNKS_PARAMETERS(unsigned short))
{ pamm_reduce_chunks<pamm_f16>(PAMM_REDUCE_CHUNKS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_reduce_chunks_f16)

extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_THREADS) pamm_reduce_chunks_bf16(PAMM_REDUCE_CHUNKS_PARAMETERS(unsigned short))
{ pamm_reduce_chunks<pamm_bf16>(PAMM_REDUCE_CHUNKS_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_reduce_chunks_bf16)

// Grid (k, column slices of PAMM_REDUCE_GROUP_THREADS, products): an empty group gets B̃_j = 0. The first thread also
// writes the last stage's scalars a·β and c (pamm_write_product_scalars), which the batch's products share: one launch
// fewer per product than a kernel of their own.
extern "C" __global__ void __launch_bounds__(PAMM_REDUCE_GROUP_THREADS)
pamm_reduce_groups(const int* __restrict__ group_starts, int rows, const float* __restrict__ partials, int columns0,
                   int columns1, int columns2, int k, float* __restrict__ reduced, const int* __restrict__ dropped, float a,
                   float c, float* __restrict__ scalars)
{
    int j = blockIdx.x;
    if (j >= k) return;
    if (j == 0 && blockIdx.y == 0 && blockIdx.z == 0 && threadIdx.x == 0) pamm_write_product_scalars(dropped, rows, a, c, scalars);
    int columns = pamm_batch_pick(columns0, columns1, columns2);
    long long offset = pamm_batch_offset(columns0, columns1);
    partials += pamm_reduce_pieces(rows, k) * offset;
    reduced += (long long)k * offset;
    long long column = (long long)blockIdx.y * blockDim.x + threadIdx.x;
    if (column >= columns) return;
    int begin = group_starts[j], end = group_starts[j + 1];
    float sum = 0.0f;
    if (begin < end)
    {
        int first_chunk = begin / PAMM_REDUCE_CHUNK, last_chunk = (end - 1) / PAMM_REDUCE_CHUNK;
        // The pieces' addresses are known up front, so their loads are issued PAMM_REDUCE_GROUP_LOADS at a time and
        // then added in chunk order: one memory round trip per 16 pieces instead of one per 4 (what the compiler's
        // unrolling gave), where a group spans b / k / 32 chunks, 16 or 17 at r = 1/512 whatever b is.
        for (int chunk = first_chunk; chunk <= last_chunk; chunk += PAMM_REDUCE_GROUP_LOADS)
        {
            float pieces[PAMM_REDUCE_GROUP_LOADS];
#pragma unroll
            for (int u = 0; u < PAMM_REDUCE_GROUP_LOADS; ++u) // past the group: its last piece again, unused
                pieces[u] = partials[(long long)(min(chunk + u, last_chunk) + j) * columns + column];
#pragma unroll
            for (int u = 0; u < PAMM_REDUCE_GROUP_LOADS; ++u)
                if (chunk + u <= last_chunk) sum += pieces[u];
        }
    }
    reduced[(long long)j * columns + column] = sum;
}
PAMM_EXPORT_KERNEL(pamm_reduce_groups)
