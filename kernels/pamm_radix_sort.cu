#include "pamm_common.cuh"

// Stable LSD radix sort of the rows by their generator f, 8 bits per pass (1 pass for k ≤ 256, 2
// for k ≤ 65536), so that each generator's rows sit together in ascending row order and the
// segmented reduction sums them in a fixed order (deterministic, no float atomics).
// A pass: each tile of consecutive positions is walked serially by one thread, which counts its
// digits (histogram, digit-major: [digit][tile]); one block scans the counts into exclusive
// offsets; the same thread walks its tile again and scatters each element to offset[digit][tile]++.
// Serial walks keep every tile stable, and digit-major offsets keep tiles in order: the sort is stable.
// The first pass reads f itself (16 or 32 bits) in row order; later passes read the int keys and
// row numbers the previous pass wrote.
#define PAMM_RADIX_TILE_THREADS 128
#define PAMM_RADIX_SCAN_THREADS 1024

template <typename K>
__device__ __forceinline__ void pamm_radix_histogram(const K* __restrict__ keys, int count, int tile_size, int tiles, int shift,
                                                     unsigned int* __restrict__ histogram)
{
    long long tile = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tile >= tiles) return;
    for (int digit = 0; digit < 256; ++digit) histogram[(long long)digit * tiles + tile] = 0u;
    long long begin = tile * tile_size, end = min(begin + tile_size, (long long)count);
    for (long long position = begin; position < end; ++position)
    {
        unsigned int digit = ((unsigned int)keys[position] >> shift) & 255u;
        ++histogram[(long long)digit * tiles + tile];
    }
}

template <typename K>
__device__ __forceinline__ void pamm_radix_scatter(const K* __restrict__ keys, const int* __restrict__ rows_in, int count,
                                                   int tile_size, int tiles, int shift, unsigned int* __restrict__ offsets,
                                                   int* __restrict__ keys_out, int* __restrict__ rows_out)
{
    long long tile = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tile >= tiles) return;
    long long begin = tile * tile_size, end = min(begin + tile_size, (long long)count);
    for (long long position = begin; position < end; ++position)
    {
        unsigned int key = (unsigned int)keys[position];
        unsigned int* slot = &offsets[(long long)((key >> shift) & 255u) * tiles + tile];
        unsigned int target = *slot;
        *slot = target + 1u;
        keys_out[target] = (int)key;
        rows_out[target] = rows_in != 0 ? rows_in[position] : (int)position;
    }
}

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS)
pamm_radix_histogram_u16(const unsigned short* __restrict__ keys, int count, int tile_size, int tiles, int shift,
                         unsigned int* __restrict__ histogram)
{
    pamm_radix_histogram<unsigned short>(keys, count, tile_size, tiles, shift, histogram);
}
PAMM_EXPORT_KERNEL(pamm_radix_histogram_u16)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS)
pamm_radix_histogram_i32(const int* __restrict__ keys, int count, int tile_size, int tiles, int shift,
                         unsigned int* __restrict__ histogram)
{
    pamm_radix_histogram<int>(keys, count, tile_size, tiles, shift, histogram);
}
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

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS)
pamm_radix_scatter_u16(const unsigned short* __restrict__ keys, const int* __restrict__ rows_in, int count, int tile_size,
                       int tiles, int shift, unsigned int* __restrict__ offsets, int* __restrict__ keys_out, int* __restrict__ rows_out)
{
    pamm_radix_scatter<unsigned short>(keys, rows_in, count, tile_size, tiles, shift, offsets, keys_out, rows_out);
}
PAMM_EXPORT_KERNEL(pamm_radix_scatter_u16)

extern "C" __global__ void __launch_bounds__(PAMM_RADIX_TILE_THREADS)
pamm_radix_scatter_i32(const int* __restrict__ keys, const int* __restrict__ rows_in, int count, int tile_size,
                       int tiles, int shift, unsigned int* __restrict__ offsets, int* __restrict__ keys_out, int* __restrict__ rows_out)
{
    pamm_radix_scatter<int>(keys, rows_in, count, tile_size, tiles, shift, offsets, keys_out, rows_out);
}
PAMM_EXPORT_KERNEL(pamm_radix_scatter_i32)
