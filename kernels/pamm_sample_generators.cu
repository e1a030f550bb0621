#include "pamm_common.cuh"

// Uniform sampling of k of b rows without replacement: row i's key is Philox(seed, i) and the k
// smallest (key, index) pairs win; written ascending, exactly as GeneratorSampler does on the CPU.
//
// Five launches, every one but two tiny single-block steps spread over the whole GPU:
//   keys        b keys computed once into scratch + a global histogram of their top 16 bits;
//   digit       (1 block) the 16-bit bucket holding the k-th smallest key and its rank inside it;
//   candidates  per tile: rows certainly taken (top bits below the bucket), rows of the bucket listed;
//   threshold   (1 block) the bucket's rows ranked by (key, index), which names the k-th smallest
//               pair exactly, adds the bucket's winners to their tiles, scans tile counts to offsets;
//   scatter     per tile: an ordered compaction of the rows ≤ the k-th smallest pair.
// Keys are uniform, so the bucket holds about b / 65 536 rows and ranking them pairwise is cheap.
// Everything is integer counting: the result does not depend on the order of the atomics.
#define PAMM_SAMPLE_KEY_THREADS 256
#define PAMM_SAMPLE_SELECT_THREADS 1024
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
};
static_assert(sizeof(pamm_sample_state) <= PAMM_SAMPLE_STATE_BYTES, "the host reserves PAMM_SAMPLE_STATE_BYTES for the state");

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_KEY_THREADS)
pamm_sample_keys(int rows, unsigned long long seed, unsigned long long* __restrict__ keys, unsigned int* __restrict__ histogram)
{
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    unsigned long long key = pamm_philox_row_key(seed, row);
    keys[row] = key;
    // 65 536 bins take uniform keys with little contention, so global atomics are cheaper than a
    // shared histogram that every block would have to clear and flush.
    atomicAdd(&histogram[key >> PAMM_SAMPLE_DIGIT_SHIFT], 1u);
}
PAMM_EXPORT_KERNEL(pamm_sample_keys)

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_SELECT_THREADS)
pamm_sample_digit(int k, const unsigned int* __restrict__ histogram, pamm_sample_state* __restrict__ state)
{
    __shared__ unsigned int scan_scratch[33];
    const int bins_per_thread = PAMM_SAMPLE_BINS / PAMM_SAMPLE_SELECT_THREADS;
    int first = threadIdx.x * bins_per_thread;
    unsigned int count = 0u;
    for (int d = first; d < first + bins_per_thread; ++d) count += histogram[d];
    unsigned int total;
    unsigned int before = pamm_block_exclusive_scan(count, scan_scratch, total);
    unsigned int target = (unsigned int)k;
    // Exactly one thread's bins hold the k-th smallest key.
    if (before < target && target <= before + count)
    {
        int digit = first;
        while (before + histogram[digit] < target) before += histogram[digit++];
        state->digit = (unsigned int)digit;
        state->rank = target - before;
    }
}
PAMM_EXPORT_KERNEL(pamm_sample_digit)

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
        // The list's order depends on timing; the threshold kernel ranks it, so the result does not.
        else if (top == digit) candidates[atomicAdd(&state->candidates, 1u)] = (unsigned int)row;
    }
    unsigned int total;
    pamm_block_exclusive_scan(below, scan_scratch, total);
    if (threadIdx.x == 0) tile_counts[blockIdx.x] = total;
}
PAMM_EXPORT_KERNEL(pamm_sample_candidates)

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_SELECT_THREADS)
pamm_sample_threshold(int tiles, const unsigned long long* __restrict__ keys, const unsigned int* __restrict__ candidates,
    pamm_sample_state* __restrict__ state, unsigned int* __restrict__ tile_counts)
{
    __shared__ unsigned int scan_scratch[33];
    unsigned int listed = state->candidates, rank_needed = state->rank;
    for (unsigned int a = threadIdx.x; a < listed; a += blockDim.x)
    {
        unsigned int row = candidates[a];
        unsigned long long key = keys[row];
        unsigned int rank = 0u;
        for (unsigned int b = 0; b < listed; ++b)
        {
            unsigned int other_row = candidates[b];
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
    for (int t = first; t < last; ++t) count += tile_counts[t];
    unsigned int total;
    unsigned int offset = pamm_block_exclusive_scan(count, scan_scratch, total);
    for (int t = first; t < last; ++t)
    {
        unsigned int tile_count = tile_counts[t];
        tile_counts[t] = offset;
        offset += tile_count;
    }
}
PAMM_EXPORT_KERNEL(pamm_sample_threshold)

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
