#include "pamm_common.cuh"

// Uniform sampling of k of b rows without replacement: row i's key is Philox(seed, i) and the k
// smallest (key, index) pairs win; written ascending, exactly as GeneratorSampler does on the CPU.
// Everything is integer counting: the result does not depend on the order of the atomics.
//
// Two paths, picked by the host from b alone (PammKernels.SampleGenerators):
//
// b ≤ PAMM_SAMPLE_BLOCK_THREADS · PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD (16 384): ONE launch of one block,
// `pamm_sample_block`, no scratch and no fill. Each thread computes the keys of its 16 consecutive
// rows once and keeps them in registers; 12-bit digit passes over a shared 4096-bin histogram narrow
// the k-th smallest key down to a bucket of at most PAMM_SAMPLE_BLOCK_LIST rows (one pass for
// uniform keys: a bucket holds about b / 4096 of them), whose rows are listed in shared memory and
// ranked pairwise by (key, index); one block scan then writes the winners in index order. One SM
// computes Philox-10 at roughly a key per clock, so the bound keeps the launch near the cost of the
// five launches it replaces or below (kernels/README.md, "Sampling").
//
// Larger b: a fill and three launches over the whole GPU, each of the first two ending in a step that one block does
// once every block has finished (the last block to take a ticket, pamm_last_block_done):
//   keys        b keys computed once into scratch + a global histogram of their top 16 bits;
//               then (last block) the 16-bit bucket holding the k-th smallest key and its rank inside it;
//   candidates  per tile: rows certainly taken (top bits below the bucket), rows of the bucket listed;
//               then (last block) the bucket's rows ranked by (key, index), which names the k-th smallest
//               pair exactly, adds the bucket's winners to their tiles, scans tile counts to offsets;
//   scatter     per tile: an ordered compaction of the rows ≤ the k-th smallest pair.
// Keys are uniform, so the bucket holds about b / 65 536 rows and ranking them pairwise is cheap. Until 2026-12-04 the
// two single-block steps were launches of their own (five in all), each a dependent launch of one block.

// Row i's key. Only tests redefine it (before this file), to give both paths keys with many ties.
#ifndef PAMM_SAMPLE_KEY
#define PAMM_SAMPLE_KEY(seed, row) pamm_philox_row_key(seed, row)
#endif

// 1024: the keys kernel's last block scans the 65 536-bin histogram, 64 bins a thread.
#define PAMM_SAMPLE_KEY_THREADS 1024
#define PAMM_SAMPLE_TILE_THREADS 256
#define PAMM_SAMPLE_ROWS_PER_THREAD 8
#define PAMM_SAMPLE_TILE_ROWS (PAMM_SAMPLE_TILE_THREADS * PAMM_SAMPLE_ROWS_PER_THREAD)
#define PAMM_SAMPLE_DIGIT_SHIFT 48
#define PAMM_SAMPLE_BINS 65536
// Bytes the host reserves (and zeroes) for pamm_sample_state after the histogram.
#define PAMM_SAMPLE_STATE_BYTES 32

// Zeroed by the host before `keys`, together with the histogram.
struct pamm_sample_state
{
    unsigned long long threshold_key; // the k-th smallest (key, row) pair
    unsigned int threshold_row;
    unsigned int digit;               // top 16 bits of threshold_key
    unsigned int rank;                // 1-based rank of the threshold among the rows of `digit`
    unsigned int candidates;          // rows listed whose top 16 bits equal `digit`
    unsigned int keys_done;           // tickets of pamm_sample_keys' blocks (pamm_last_block_done)
    unsigned int candidates_done;     // tickets of pamm_sample_candidates' blocks
};
static_assert(sizeof(pamm_sample_state) <= PAMM_SAMPLE_STATE_BYTES, "the host reserves PAMM_SAMPLE_STATE_BYTES for the state");

// The 16-bit bucket holding the k-th smallest key, and the key's rank inside it, from the full histogram; one block.
__device__ __forceinline__ void pamm_sample_find_digit(int k, const unsigned int* __restrict__ histogram,
                                                       pamm_sample_state* __restrict__ state)
{
    __shared__ unsigned int scan_scratch[33];
    const int bins_per_thread = PAMM_SAMPLE_BINS / PAMM_SAMPLE_KEY_THREADS;
    int first = threadIdx.x * bins_per_thread;
    unsigned int count = 0u;
    // The other blocks counted into the histogram during this launch: coherent loads (pamm_last_block_done).
    for (int d = first; d < first + bins_per_thread; ++d) count += pamm_load_coherent(&histogram[d]);
    unsigned int total;
    unsigned int before = pamm_block_exclusive_scan(count, scan_scratch, total);
    unsigned int target = (unsigned int)k;
    // Exactly one thread's bins hold the k-th smallest key.
    if (before < target && target <= before + count)
    {
        int digit = first;
        for (unsigned int bin = pamm_load_coherent(&histogram[digit]); before + bin < target; bin = pamm_load_coherent(&histogram[++digit]))
            before += bin;
        state->digit = (unsigned int)digit;
        state->rank = target - before;
    }
}

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_KEY_THREADS)
pamm_sample_keys(int rows, int k, unsigned long long seed, unsigned long long* __restrict__ keys, unsigned int* __restrict__ histogram,
    pamm_sample_state* __restrict__ state)
{
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row < rows)
    {
        unsigned long long key = PAMM_SAMPLE_KEY(seed, row);
        keys[row] = key;
        // 65 536 bins take uniform keys with little contention, so global atomics are cheaper than a
        // shared histogram that every block would have to clear and flush.
        atomicAdd(&histogram[key >> PAMM_SAMPLE_DIGIT_SHIFT], 1u);
    }
    if (pamm_last_block_done(&state->keys_done)) pamm_sample_find_digit(k, histogram, state);
}
PAMM_EXPORT_KERNEL(pamm_sample_keys)

// The bucket's listed rows ranked by (key, index): the k-th smallest pair becomes the threshold and the bucket's winners
// join their tiles' counts; then the counts become each tile's output offset. One block, once every tile is counted.
__device__ __forceinline__ void pamm_sample_find_threshold(int tiles, const unsigned long long* __restrict__ keys,
    const unsigned int* __restrict__ candidates, pamm_sample_state* __restrict__ state, unsigned int* __restrict__ tile_counts)
{
    __shared__ unsigned int scan_scratch[33];
    // The count, the list and the tile counts were written by the other blocks during this launch, and this block read
    // the state's line at its start: coherent loads (pamm_last_block_done). The keys and the rank come from earlier launches.
    unsigned int listed = pamm_load_coherent(&state->candidates), rank_needed = state->rank;
    for (unsigned int a = threadIdx.x; a < listed; a += blockDim.x)
    {
        unsigned int row = pamm_load_coherent(&candidates[a]);
        unsigned long long key = keys[row];
        unsigned int rank = 0u;
        for (unsigned int b = 0; b < listed; ++b)
        {
            unsigned int other_row = pamm_load_coherent(&candidates[b]);
            unsigned long long other_key = keys[other_row];
            if (other_key < key || (other_key == key && other_row < row)) ++rank;
        }
        if (rank < rank_needed) atomicAdd(&tile_counts[row / PAMM_SAMPLE_TILE_ROWS], 1u);
        if (rank == rank_needed - 1u)
        {
            state->threshold_key = key;
            state->threshold_row = row;
        }
    }
    __syncthreads(); // every winner is counted in its tile before the counts become offsets

    // In-place exclusive scan: each thread owns a run of consecutive tiles.
    int per_thread = (tiles + (int)blockDim.x - 1) / (int)blockDim.x;
    int first = min(tiles, (int)threadIdx.x * per_thread), last = min(tiles, first + per_thread);
    unsigned int count = 0u;
    for (int t = first; t < last; ++t) count += pamm_load_coherent(&tile_counts[t]);
    unsigned int total;
    unsigned int offset = pamm_block_exclusive_scan(count, scan_scratch, total);
    for (int t = first; t < last; ++t)
    {
        unsigned int tile_count = pamm_load_coherent(&tile_counts[t]);
        tile_counts[t] = offset;
        offset += tile_count;
    }
}

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_TILE_THREADS)
pamm_sample_candidates(int rows, const unsigned long long* __restrict__ keys, pamm_sample_state* __restrict__ state,
    unsigned int* __restrict__ candidates, unsigned int* __restrict__ tile_counts)
{
    __shared__ unsigned int scan_scratch[33];
    unsigned long long digit = state->digit;
    long long tile_start = (long long)blockIdx.x * PAMM_SAMPLE_TILE_ROWS;
    unsigned int below = 0u;
    for (int j = 0; j < PAMM_SAMPLE_ROWS_PER_THREAD; ++j)
    {
        long long row = tile_start + j * PAMM_SAMPLE_TILE_THREADS + threadIdx.x;
        if (row >= rows) break;
        unsigned long long top = keys[row] >> PAMM_SAMPLE_DIGIT_SHIFT;
        if (top < digit) ++below;
        // The list's order depends on timing; the threshold step ranks it, so the result does not.
        else if (top == digit) candidates[atomicAdd(&state->candidates, 1u)] = (unsigned int)row;
    }
    unsigned int total;
    pamm_block_exclusive_scan(below, scan_scratch, total);
    if (threadIdx.x == 0) tile_counts[blockIdx.x] = total;
    if (pamm_last_block_done(&state->candidates_done)) pamm_sample_find_threshold((int)gridDim.x, keys, candidates, state, tile_counts);
}
PAMM_EXPORT_KERNEL(pamm_sample_candidates)

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_TILE_THREADS)
pamm_sample_scatter(int rows, const unsigned long long* __restrict__ keys, const pamm_sample_state* __restrict__ state,
    const unsigned int* __restrict__ tile_offsets, int* __restrict__ generators)
{
    __shared__ unsigned int scan_scratch[33];
    unsigned long long threshold_key = state->threshold_key;
    long long threshold_row = state->threshold_row;
    // A thread owns consecutive rows, so one block scan orders the whole tile.
    long long first = (long long)blockIdx.x * PAMM_SAMPLE_TILE_ROWS + (long long)threadIdx.x * PAMM_SAMPLE_ROWS_PER_THREAD;
    unsigned int taken = 0u; // bit j: row first + j is a winner
    for (int j = 0; j < PAMM_SAMPLE_ROWS_PER_THREAD; ++j)
    {
        long long row = first + j;
        if (row >= rows) break;
        unsigned long long key = keys[row];
        if (key < threshold_key || (key == threshold_key && row <= threshold_row)) taken |= 1u << j;
    }
    unsigned int total;
    unsigned int position = tile_offsets[blockIdx.x] + pamm_block_exclusive_scan((unsigned int)__popc(taken), scan_scratch, total);
    for (int j = 0; j < PAMM_SAMPLE_ROWS_PER_THREAD; ++j)
        if (taken & (1u << j)) generators[position++] = (int)(first + j);
}
PAMM_EXPORT_KERNEL(pamm_sample_scatter)

// ---------------------------------------------------------------------------------------------
// One launch, one block: b ≤ PAMM_SAMPLE_BLOCK_THREADS · PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD.
// ---------------------------------------------------------------------------------------------
#define PAMM_SAMPLE_BLOCK_THREADS 1024
// Keys a thread keeps in registers (32 of its 64 at 1024 threads): the rows one block takes. 16 since the first H200
// run, where one block took 12.5 µs at 8 rows a thread (b = 8192) and the five launches 59 µs (kernels/README.md).
#define PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD 16
#define PAMM_SAMPLE_BLOCK_DIGIT_BITS 12
#define PAMM_SAMPLE_BLOCK_BINS 4096
// Rows of the threshold's bucket ranked pairwise (c² comparisons); a fuller bucket takes another
// digit pass instead. Tests shrink it (defining it before this file) to run those passes.
#ifndef PAMM_SAMPLE_BLOCK_LIST
#define PAMM_SAMPLE_BLOCK_LIST 64
#endif
static_assert(PAMM_SAMPLE_BLOCK_BINS == 1 << PAMM_SAMPLE_BLOCK_DIGIT_BITS, "one bin per digit");
static_assert(PAMM_SAMPLE_BLOCK_BINS % PAMM_SAMPLE_BLOCK_THREADS == 0, "every thread scans as many bins");
static_assert(PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD <= 32, "a thread's winners are the bits of one unsigned int");
static_assert(PAMM_SAMPLE_BLOCK_LIST >= 1, "the list holds at least the threshold's row");

// What every thread of pamm_sample_block reads between passes; written by one thread.
struct pamm_sample_block_state
{
    unsigned long long prefix;        // the bits of the k-th smallest key known so far, the rest zero
    unsigned long long threshold_key; // the k-th smallest (key, row) pair
    unsigned int threshold_row;
    unsigned int rank;                // 1-based rank of the k-th pair among the rows whose key starts with `prefix`
    unsigned int candidates;          // rows whose key starts with `prefix`
    unsigned int listed;              // rows written to the shared list so far
};

__device__ __forceinline__ bool pamm_sample_has_prefix(unsigned long long key, unsigned long long prefix, int bits)
{
    return bits == 0 || (key >> (64 - bits)) == (prefix >> (64 - bits));
}

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_BLOCK_THREADS)
pamm_sample_block(int rows, int k, unsigned long long seed, int* __restrict__ generators)
{
    __shared__ unsigned int histogram[PAMM_SAMPLE_BLOCK_BINS];
    __shared__ unsigned long long listed_keys[PAMM_SAMPLE_BLOCK_LIST];
    __shared__ unsigned int listed_rows[PAMM_SAMPLE_BLOCK_LIST];
    __shared__ unsigned int scan_scratch[33];
    __shared__ pamm_sample_block_state state;
    const int bins_per_thread = PAMM_SAMPLE_BLOCK_BINS / PAMM_SAMPLE_BLOCK_THREADS;

    // A thread owns consecutive rows, so one block scan puts the winners in index order at the end.
    // Their keys are computed once and stay in registers (every loop over j is unrolled).
    const int first = (int)threadIdx.x * PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD;
    const int owned = max(0, min(PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD, rows - first));
    unsigned long long keys[PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD];
#pragma unroll
    for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j) keys[j] = j < owned ? PAMM_SAMPLE_KEY(seed, first + j) : 0ull;
    if (threadIdx.x == 0)
    {
        state.prefix = 0ull;
        state.rank = (unsigned int)k;
        state.candidates = (unsigned int)rows;
        state.listed = 0u;
    }
    __syncthreads();

    // Digit passes, most significant first, each among the rows that share the known prefix: which
    // bucket of the next 12 bits (4 for the last) holds the k-th pair, and its rank inside. Uniform
    // keys leave a listable bucket after the first pass; equal keys stop after all 64 bits. Every
    // thread advances `bits` itself, so there are at most six passes whatever the keys.
    int bits = 0;
    for (;;)
    {
        const unsigned long long prefix = state.prefix;
        const unsigned int rank = state.rank;
        if (state.candidates <= PAMM_SAMPLE_BLOCK_LIST || bits == 64) break; // the same for every thread
        const int shift = max(0, 64 - bits - PAMM_SAMPLE_BLOCK_DIGIT_BITS);
        const int width = 64 - bits - shift;
        const unsigned int digit_mask = (1u << width) - 1u;
        for (int bin = (int)threadIdx.x; bin < PAMM_SAMPLE_BLOCK_BINS; bin += PAMM_SAMPLE_BLOCK_THREADS) histogram[bin] = 0u;
        __syncthreads(); // also: every thread has read the state before it changes
#pragma unroll
        for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
            if (j < owned && pamm_sample_has_prefix(keys[j], prefix, bits))
                atomicAdd(&histogram[(unsigned int)(keys[j] >> shift) & digit_mask], 1u);
        __syncthreads();
        const int first_bin = (int)threadIdx.x * bins_per_thread;
        unsigned int count = 0u;
        for (int bin = first_bin; bin < first_bin + bins_per_thread; ++bin) count += histogram[bin];
        unsigned int total;
        unsigned int before = pamm_block_exclusive_scan(count, scan_scratch, total);
        // Exactly one thread's bins hold the rank-th pair (rank ≤ candidates = total).
        if (before < rank && rank <= before + count)
        {
            int bin = first_bin;
            while (before + histogram[bin] < rank) before += histogram[bin++];
            state.prefix = prefix | ((unsigned long long)bin << shift);
            state.rank = rank - before;
            state.candidates = histogram[bin];
        }
        bits += width;
        __syncthreads();
    }

    const unsigned long long prefix = state.prefix;
    const unsigned int rank = state.rank, candidates = state.candidates;
    if (candidates <= PAMM_SAMPLE_BLOCK_LIST)
    {
        // The bucket's rows listed (in an order that depends on timing; only their ranks are used),
        // then each ranked against the others by (key, index): the rank-th is the threshold.
#pragma unroll
        for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
            if (j < owned && pamm_sample_has_prefix(keys[j], prefix, bits))
            {
                unsigned int slot = atomicAdd(&state.listed, 1u);
                listed_keys[slot] = keys[j];
                listed_rows[slot] = (unsigned int)(first + j);
            }
        __syncthreads();
        for (unsigned int a = threadIdx.x; a < candidates; a += PAMM_SAMPLE_BLOCK_THREADS)
        {
            unsigned long long key = listed_keys[a];
            unsigned int row = listed_rows[a], below = 0u;
            for (unsigned int b = 0; b < candidates; ++b)
            {
                unsigned long long other_key = listed_keys[b];
                if (other_key < key || (other_key == key && listed_rows[b] < row)) ++below;
            }
            if (below == rank - 1u)
            {
                state.threshold_key = key;
                state.threshold_row = row;
            }
        }
    }
    else
    {
        // All 64 bits known and still more rows than the list holds: their keys all equal `prefix`,
        // so the threshold is the rank-th of them in index order, which one block scan finds.
        unsigned int equal = 0u;
#pragma unroll
        for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
            if (j < owned && keys[j] == prefix) ++equal;
        unsigned int total;
        unsigned int before = pamm_block_exclusive_scan(equal, scan_scratch, total);
        if (before < rank && rank <= before + equal)
        {
#pragma unroll
            for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
                if (j < owned && keys[j] == prefix && ++before == rank)
                {
                    state.threshold_key = prefix;
                    state.threshold_row = (unsigned int)(first + j);
                }
        }
    }
    __syncthreads();

    // Ordered compaction: the rows with (key, index) ≤ the threshold pair, k of them, ascending.
    const unsigned long long threshold_key = state.threshold_key;
    const int threshold_row = (int)state.threshold_row;
    unsigned int taken = 0u; // bit j: row first + j is a winner
#pragma unroll
    for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
        if (j < owned && (keys[j] < threshold_key || (keys[j] == threshold_key && first + j <= threshold_row))) taken |= 1u << j;
    unsigned int total;
    unsigned int position = pamm_block_exclusive_scan((unsigned int)__popc(taken), scan_scratch, total);
    // total is k; the bound only keeps a broken invariant from writing past the k slots.
#pragma unroll
    for (int j = 0; j < PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD; ++j)
        if ((taken & (1u << j)) && position < (unsigned int)k) generators[position++] = first + j;
}
PAMM_EXPORT_KERNEL(pamm_sample_block)
