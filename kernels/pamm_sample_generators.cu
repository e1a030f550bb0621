#include "pamm_common.cuh"

// Uniform sampling of k of b rows without replacement: row i's key is Philox(seed, i) and the k
// smallest (key, index) pairs win; written ascending. One block does it all: a radix select finds
// the k-th smallest key with eight passes over 8-bit digits (most significant first), recomputing
// the keys each pass instead of keeping b keys in scratch, then an ordered compaction writes the
// winners in index order. Keys equal to the threshold are taken by smallest index, as on the CPU.
#define PAMM_SAMPLE_THREADS 1024

extern "C" __global__ void __launch_bounds__(PAMM_SAMPLE_THREADS)
pamm_sample_generators(int rows, int k, unsigned long long seed, int* __restrict__ generators)
{
    __shared__ unsigned int histogram[256];
    __shared__ unsigned long long chosen_prefix;
    __shared__ unsigned int chosen_remaining;
    __shared__ unsigned int scan_scratch[33];

    unsigned long long prefix = 0ull, mask = 0ull;
    unsigned int remaining = (unsigned int)k;
    for (int shift = 56; shift >= 0; shift -= 8)
    {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) histogram[d] = 0u;
        __syncthreads();
        for (long long i = threadIdx.x; i < rows; i += blockDim.x)
        {
            unsigned long long key = pamm_philox_row_key(seed, i);
            if ((key & mask) == prefix) atomicAdd(&histogram[(key >> shift) & 255ull], 1u);
        }
        __syncthreads();
        if (threadIdx.x == 0)
        {
            // The rows matching `prefix` number at least `remaining`, so the walk stops inside the histogram.
            unsigned int before = 0u;
            int digit = 0;
            while (digit < 255 && before + histogram[digit] < remaining) before += histogram[digit++];
            chosen_prefix = prefix | ((unsigned long long)digit << shift);
            chosen_remaining = remaining - before;
        }
        __syncthreads();
        prefix = chosen_prefix;
        remaining = chosen_remaining;
        mask |= 255ull << shift;
        __syncthreads(); // everyone has read the chosen digit before thread 0 may overwrite it
    }

    // `prefix` is now the k-th smallest key; `remaining` rows with exactly that key are still to be taken.
    unsigned int selected_base = 0u, equal_base = 0u;
    for (long long start = 0; start < rows; start += blockDim.x)
    {
        long long i = start + threadIdx.x;
        unsigned long long key = i < rows ? pamm_philox_row_key(seed, i) : ~0ull;
        bool in_range = i < rows;
        bool equal = in_range && key == prefix;
        unsigned int equal_total;
        unsigned int equal_before = equal_base + pamm_block_exclusive_scan(equal ? 1u : 0u, scan_scratch, equal_total);
        bool selected = in_range && (key < prefix || (equal && equal_before < remaining));
        unsigned int selected_total;
        unsigned int position = selected_base + pamm_block_exclusive_scan(selected ? 1u : 0u, scan_scratch, selected_total);
        if (selected) generators[position] = (int)i;
        selected_base += selected_total;
        equal_base += equal_total;
    }
}
PAMM_EXPORT_KERNEL(pamm_sample_generators)
