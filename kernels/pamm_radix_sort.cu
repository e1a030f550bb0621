#include "pamm_common.cuh"

// Stable LSD radix sort of the rows by their generator f, 8 bits per pass (1 pass for k ≤ 256, 2
// for k ≤ 65536), so that each generator's rows sit together in ascending row order and the
// segmented reduction sums them in a fixed order (deterministic, no float atomics).
// A pass: one block per tile of consecutive positions counts the tile's digits in shared memory
// (histogram, digit-major: [digit][tile]); one block scans the counts into exclusive offsets; one
// block per tile scatters the tile in rounds of one element per thread, each element's place in
// its digit being the number of equal digits before it in the round (a loop over the round in shared
// memory: no ordering-dependent atomics). Ranks in position order keep every tile stable, and
// digit-major offsets keep tiles in order: the sort is stable. Only the digits that can occur
// (`digits` ≤ 256, from k) are counted and scanned, so a small k scans a small histogram.
// The first pass reads f itself (8, 16 or 32 bits) in row order; later passes read the int keys and
// row numbers the previous pass wrote.
#define PAMM_RADIX_TILE_THREADS 256
#define PAMM_RADIX_SCAN_THREADS 1024
#define PAMM_RADIX_BITS 8
#define PAMM_RADIX_DIGITS (1 << PAMM_RADIX_BITS)

__device__ __forceinline__ unsigned int pamm_radix_digit(unsigned int key, int shift) { return (key >> shift) & (PAMM_RADIX_DIGITS - 1u); }

template <typename K>
__device__ __forceinline__ void pamm_radix_histogram(const K* __restrict__ keys, int count, int tile_size, int tiles, int shift,
                                                     int digits, unsigned int* __restrict__ histogram)
{
    __shared__ unsigned int tile_counts[PAMM_RADIX_DIGITS];
    for (int digit = threadIdx.x; digit < digits; digit += blockDim.x) tile_counts[digit] = 0u;
    __syncthreads();
    long long tile = blockIdx.x;
    long long begin = tile * tile_size, end = min(begin + tile_size, (long long)count);
    for (long long position = begin + threadIdx.x; position < end; position += blockDim.x)
        atomicAdd(&tile_counts[pamm_radix_digit((unsigned int)keys[position], shift)], 1u); // integer counts: order-independent
    __syncthreads();
    for (int digit = threadIdx.x; digit < digits; digit += blockDim.x)
        histogram[(long long)digit * tiles + tile] = tile_counts[digit];
}

template <typename K>
__device__ __forceinline__ void pamm_radix_scatter(const K* __restrict__ keys, const int* __restrict__ rows_in, int count,
                                                   int tile_size, int tiles, int shift, int digits,
                                                   const unsigned int* __restrict__ offsets, int* __restrict__ keys_out,
                                                   int* __restrict__ rows_out)
{
    __shared__ unsigned int next_target[PAMM_RADIX_DIGITS];
    __shared__ unsigned int round_digits[PAMM_RADIX_TILE_THREADS];
    const unsigned int no_digit = 0xFFFFFFFFu;
    long long tile = blockIdx.x;
    for (int digit = threadIdx.x; digit < digits; digit += blockDim.x)
        next_target[digit] = offsets[(long long)digit * tiles + tile];
    long long begin = tile * tile_size, end = min(begin + tile_size, (long long)count);
    for (long long round = begin; round < end; round += blockDim.x)
    {
        long long position = round + threadIdx.x;
        bool valid = position < end;
        unsigned int key = valid ? (unsigned int)keys[position] : 0u;
        unsigned int digit = valid ? pamm_radix_digit(key, shift) : no_digit;
        round_digits[threadIdx.x] = digit;
        __syncthreads();
        unsigned int before = 0u, equal = 0u;
        for (int other = 0; other < (int)blockDim.x; ++other)
        {
            bool same = round_digits[other] == digit;
            equal += same;
            before += same && other < (int)threadIdx.x;
        }
        if (valid)
        {
            unsigned int target = next_target[digit] + before;
            keys_out[target] = (int)key;
            rows_out[target] = rows_in != 0 ? rows_in[position] : (int)position;
        }
        __syncthreads(); // every thread has read next_target and round_digits
        if (valid && before == equal - 1u) next_target[digit] += equal; // the digit's last element of the round advances it
        __syncthreads();
    }
}

#define PAMM_RADIX_HISTOGRAM_PARAMETERS(K)                                                  \
    const K* __restrict__ keys, int count, int tile_size, int tiles, int shift, int digits, \
    unsigned int* __restrict__ histogram
#define PAMM_RADIX_HISTOGRAM_ARGUMENTS                      \
    keys, count, tile_size, tiles, shift, digits, histogram

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_histogram_u8(PAMM_RADIX_HISTOGRAM_PARAMETERS(unsigned char))
{ pamm_radix_histogram<unsigned char>(PAMM_RADIX_HISTOGRAM_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_histogram_u8)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_histogram_u16(PAMM_RADIX_HISTOGRAM_PARAMETERS(unsigned short))
{ pamm_radix_histogram<unsigned short>(PAMM_RADIX_HISTOGRAM_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_histogram_u16)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_histogram_i32(PAMM_RADIX_HISTOGRAM_PARAMETERS(int))
{ pamm_radix_histogram<int>(PAMM_RADIX_HISTOGRAM_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_histogram_i32)

// Exclusive scan of the whole histogram in place, by one block: each thread scans a contiguous
// segment, and a block scan of the segment totals gives each segment its start.
extern "C" __global__ void __launch_bounds__(PAMM_RADIX_SCAN_THREADS)
pamm_radix_scan(unsigned int* __restrict__ counts, long long count)
{
    __shared__ unsigned int scan_scratch[33];
    long long segment = (count + blockDim.x - 1) / blockDim.x;
    long long begin = min((long long)threadIdx.x * segment, count), end = min(begin + segment, count);
    unsigned int sum = 0u;
    for (long long i = begin; i < end; ++i) sum += counts[i];
    unsigned int total;
    unsigned int running = pamm_block_exclusive_scan(sum, scan_scratch, total);
    for (long long i = begin; i < end; ++i)
    {
        unsigned int value = counts[i];
        counts[i] = running;
        running += value;
    }
}
PAMM_EXPORT_KERNEL(pamm_radix_scan)

#define PAMM_RADIX_SCATTER_PARAMETERS(K)                                                                         \
    const K* __restrict__ keys, const int* __restrict__ rows_in, int count, int tile_size, int tiles, int shift, \
    int digits, const unsigned int* __restrict__ offsets, int* __restrict__ keys_out, int* __restrict__ rows_out
#define PAMM_RADIX_SCATTER_ARGUMENTS                                                   \
    keys, rows_in, count, tile_size, tiles, shift, digits, offsets, keys_out, rows_out

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_scatter_u8(PAMM_RADIX_SCATTER_PARAMETERS(unsigned char))
{ pamm_radix_scatter<unsigned char>(PAMM_RADIX_SCATTER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_scatter_u8)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_scatter_u16(PAMM_RADIX_SCATTER_PARAMETERS(unsigned short))
{ pamm_radix_scatter<unsigned short>(PAMM_RADIX_SCATTER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_scatter_u16)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS) pamm_radix_scatter_i32(PAMM_RADIX_SCATTER_PARAMETERS(int))
{ pamm_radix_scatter<int>(PAMM_RADIX_SCATTER_ARGUMENTS); }
PAMM_EXPORT_KERNEL(pamm_radix_scatter_i32)

