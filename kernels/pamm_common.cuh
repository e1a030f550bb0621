// Shared device code of every PAMM kernel. Header-free on purpose: NVRTC compiles it alone (no CUDA
// toolkit headers), and the emulated device compiles it with g++ after its own pamm_emu.h.
#pragma once

#ifndef PAMM_EXPORT_KERNEL
#define PAMM_EXPORT_KERNEL(name)
#endif

#ifndef PAMM_DYNAMIC_SHARED
#define PAMM_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

#define PAMM_FULL_WARP 0xffffffffu

// ---------------------------------------------------------------------------------------------
// Philox4x32-10, identical to src/PammCuda/Sampling/Philox4x32.cs: the CPU and the GPU must pick
// the same generator rows from the same seed.
// ---------------------------------------------------------------------------------------------
__device__ __forceinline__ unsigned long long pamm_philox_row_key(unsigned long long seed, long long row)
{
    unsigned int c0 = (unsigned int)row, c1 = (unsigned int)((unsigned long long)row >> 32), c2 = 0u, c3 = 0u;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int round = 0; round < 10; ++round)
    {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    return ((unsigned long long)c0 << 32) | c1;
}

// Kernel parameters are integers, floats and pointers only, so a double travels as its bits.
__device__ __forceinline__ double pamm_double_from_bits(unsigned long long bits)
{
    union { unsigned long long bits; double value; } pun;
    pun.bits = bits;
    return pun.value;
}

// ---------------------------------------------------------------------------------------------
// Element types. fp16 and bf16 travel as raw 16 bits (no cuda_fp16.h under NVRTC-alone), converted
// here with round-to-nearest-even, bit-exact with System.Half and PammCuda.BFloat16.
// ---------------------------------------------------------------------------------------------
__device__ __forceinline__ float pamm_f16_to_f32(unsigned short h)
{
    unsigned int sign = ((unsigned int)h & 0x8000u) << 16;
    unsigned int exponent = ((unsigned int)h >> 10) & 0x1fu;
    unsigned int mantissa = (unsigned int)h & 0x3ffu;
    // Inf stays Inf; a NaN comes out quiet, its payload kept, as System.Half's conversion gives it.
    if (exponent == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0u ? 0x00400000u : 0u));
    if (exponent == 0u)
    {
        float magnitude = (float)mantissa * 5.9604644775390625e-8f; // mantissa · 2⁻²⁴, exact
        return sign ? -magnitude : magnitude;
    }
    return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

__device__ __forceinline__ unsigned short pamm_f32_to_f16(float value)
{
    unsigned int bits = __float_as_uint(value);
    unsigned int sign = (bits >> 16) & 0x8000u;
    unsigned int magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return (unsigned short)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    if (magnitude >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u); // ≥ 65520 rounds to infinity
    if (magnitude < 0x38800000u)
    {
        // Below 2⁻¹⁴: a subnormal half, counted in units of 2⁻²⁴.
        unsigned int exponent = magnitude >> 23;
        unsigned int shift = 126u - exponent;
        if (shift > 24u) return (unsigned short)sign;
        unsigned int full = (magnitude & 0x7fffffu) | 0x800000u;
        unsigned int quotient = full >> shift, remainder = full & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (remainder > half || (remainder == half && (quotient & 1u))) ++quotient;
        return (unsigned short)(sign | quotient);
    }
    unsigned int result = (magnitude - 0x38000000u) >> 13;
    unsigned int rest = magnitude & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (result & 1u))) ++result;
    return (unsigned short)(sign | result);
}

__device__ __forceinline__ float pamm_bf16_to_f32(unsigned short h) { return __uint_as_float((unsigned int)h << 16); }

__device__ __forceinline__ unsigned short pamm_f32_to_bf16(float value)
{
    unsigned int bits = __float_as_uint(value);
    if (isnan(value)) return (unsigned short)((bits >> 16) | 0x0040u);
    return (unsigned short)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// One struct per dtype, so that one templated body serves f32, f16 and bf16 kernels.
struct pamm_f32
{
    typedef float storage;
    static __device__ __forceinline__ float load(float v) { return v; }
    static __device__ __forceinline__ float store(float v) { return v; }
};

struct pamm_f16
{
    typedef unsigned short storage;
    static __device__ __forceinline__ float load(unsigned short v) { return pamm_f16_to_f32(v); }
    static __device__ __forceinline__ unsigned short store(float v) { return pamm_f32_to_f16(v); }
};

struct pamm_bf16
{
    typedef unsigned short storage;
    static __device__ __forceinline__ float load(unsigned short v) { return pamm_bf16_to_f32(v); }
    static __device__ __forceinline__ unsigned short store(float v) { return pamm_f32_to_bf16(v); }
};

// A dtype named at run time, where a kernel takes it as an argument rather than as an instance (C# reads these codes
// from here: PammKernels).
#define PAMM_DTYPE_F32 0
#define PAMM_DTYPE_F16 1
#define PAMM_DTYPE_BF16 2

// Element `index` of a read-only array of the dtype `dtype` names (a PAMM_DTYPE_* code), widened to float32.
__device__ __forceinline__ float pamm_load_dtype(const void* __restrict__ data, int dtype, long long index)
{
    if (dtype == PAMM_DTYPE_F32) return __ldg(static_cast<const float*>(data) + index);
    unsigned short bits = __ldg(static_cast<const unsigned short*>(data) + index);
    return dtype == PAMM_DTYPE_F16 ? pamm_f16_to_f32(bits) : pamm_bf16_to_f32(bits);
}

// f(row), from an assignment of `bytes` bytes a row (the widths AssignmentWidth names).
__device__ __forceinline__ int pamm_load_assignment(const void* __restrict__ assignment, int bytes, long long row)
{
    if (bytes == 1) return static_cast<const unsigned char*>(assignment)[row];
    if (bytes == 2) return static_cast<const unsigned short*>(assignment)[row];
    return static_cast<const int*>(assignment)[row];
}

// Stores `value` at data[index] in the dtype a PAMM_DTYPE_* code names (round to nearest even for 16-bit types).
__device__ __forceinline__ void pamm_store_dtype(void* __restrict__ data, int dtype, long long index, float value)
{
    if (dtype == PAMM_DTYPE_F16) static_cast<unsigned short*>(data)[index] = pamm_f32_to_f16(value);
    else if (dtype == PAMM_DTYPE_BF16) static_cast<unsigned short*>(data)[index] = pamm_f32_to_bf16(value);
    else static_cast<float*>(data)[index] = value;
}

// Elements of a dtype in one 128-bit word (the unit of the vectorised loops) and how to unpack them.
#define PAMM_VECTOR_BYTES 16
template <typename E>
struct pamm_vector
{
    enum { width = PAMM_VECTOR_BYTES / 2 }; // the 16-bit types
    static __device__ __forceinline__ void unpack(uint4 word, float (&values)[8])
    {
        unsigned int parts[4] = { word.x, word.y, word.z, word.w };
        for (int p = 0; p < 4; ++p)
        {
            values[2 * p] = E::load((unsigned short)(parts[p] & 0xffffu));
            values[2 * p + 1] = E::load((unsigned short)(parts[p] >> 16));
        }
    }
    // The inverse: `width` values rounded to E, for one 128-bit store.
    static __device__ __forceinline__ uint4 pack(const float* values)
    {
        unsigned int parts[4];
#pragma unroll
        for (int p = 0; p < 4; ++p) parts[p] = (unsigned int)E::store(values[2 * p]) | ((unsigned int)E::store(values[2 * p + 1]) << 16);
        return make_uint4(parts[0], parts[1], parts[2], parts[3]);
    }
};

template <>
struct pamm_vector<pamm_f32>
{
    enum { width = PAMM_VECTOR_BYTES / 4 };
    static __device__ __forceinline__ void unpack(uint4 word, float (&values)[4])
    {
        values[0] = __uint_as_float(word.x);
        values[1] = __uint_as_float(word.y);
        values[2] = __uint_as_float(word.z);
        values[3] = __uint_as_float(word.w);
    }
    static __device__ __forceinline__ uint4 pack(const float* values)
    {
        return make_uint4(__float_as_uint(values[0]), __float_as_uint(values[1]), __float_as_uint(values[2]), __float_as_uint(values[3]));
    }
};

__device__ __forceinline__ bool pamm_is_aligned16(const void* pointer)
{
    return ((unsigned long long)pointer & 15ull) == 0ull;
}

// A stored element's bits, in the low bits of a 32-bit word.
__device__ __forceinline__ unsigned int pamm_storage_bits(float value) { return __float_as_uint(value); }
__device__ __forceinline__ unsigned int pamm_storage_bits(unsigned short value) { return value; }

// The `width` elements at `chunk` as one 128-bit word: one load when `vectorised`, element by element (zero bits past
// `valid`, which every dtype reads as +0) otherwise. Both paths give the same word, so a sum over its values does not
// depend on the alignment of the buffer. A loop that keeps several loads in flight holds them as words and unpacks one
// at a time: unpacked, a 16-bit dtype's word takes twice the registers (the reduction's first pass over bf16 G used 70
// registers with four unpacked loads in flight and 54 with four words, NVRTC 11.8, sm_90).
template <typename E>
__device__ __forceinline__ uint4 pamm_load_word(const typename E::storage* chunk, int valid, bool vectorised)
{
    if (vectorised) return *reinterpret_cast<const uint4*>(chunk);
    const int bits = 8 * sizeof(typename E::storage), per_part = 32 / bits;
    unsigned int parts[4] = { 0u, 0u, 0u, 0u };
#pragma unroll
    for (int e = 0; e < (int)pamm_vector<E>::width; ++e)
    {
        if (e >= valid) break;
        parts[e / per_part] |= pamm_storage_bits(chunk[e]) << (bits * (e % per_part));
    }
    return make_uint4(parts[0], parts[1], parts[2], parts[3]);
}

// The `width` elements at `chunk` as float (see pamm_load_word).
template <typename E>
__device__ __forceinline__ void pamm_load_chunk(const typename E::storage* chunk, int valid, bool vectorised,
                                                float (&values)[pamm_vector<E>::width])
{
    pamm_vector<E>::unpack(pamm_load_word<E>(chunk, valid, vectorised), values);
}

// ---------------------------------------------------------------------------------------------
// Deterministic reductions: a fixed shuffle tree, so a sum is bitwise the same run after run.
// ---------------------------------------------------------------------------------------------
__device__ __forceinline__ float pamm_warp_sum(float value)
{
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_down_sync(PAMM_FULL_WARP, value, offset);
    return value; // complete in lane 0 only
}

// Sum over the block, valid in thread 0. `scratch` holds one float per warp; the block size is a multiple of 32.
__device__ __forceinline__ float pamm_block_sum(float value, float* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    value = pamm_warp_sum(value);
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    float total = 0.0f;
    if (warp == 0)
    {
        total = lane < warps ? scratch[lane] : 0.0f;
        total = pamm_warp_sum(total);
    }
    return total;
}

// Exclusive prefix sum over the block of one value per thread, returned to each thread, with the
// block total in `total`. `scratch` holds 33 words; the block size is a multiple of 32.
__device__ __forceinline__ unsigned int pamm_block_exclusive_scan(unsigned int value, unsigned int* scratch, unsigned int& total)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned int inclusive = value;
    for (int offset = 1; offset < 32; offset <<= 1)
    {
        unsigned int neighbour = __shfl_up_sync(PAMM_FULL_WARP, inclusive, offset);
        if (lane >= offset) inclusive += neighbour;
    }
    if (lane == 31) scratch[warp] = inclusive;
    __syncthreads();
    if (warp == 0)
    {
        unsigned int warp_total = lane < warps ? scratch[lane] : 0u;
        unsigned int warp_inclusive = warp_total;
        for (int offset = 1; offset < 32; offset <<= 1)
        {
            unsigned int neighbour = __shfl_up_sync(PAMM_FULL_WARP, warp_inclusive, offset);
            if (lane >= offset) warp_inclusive += neighbour;
        }
        scratch[lane] = warp_inclusive - warp_total;
        if (lane == 31) scratch[32] = warp_inclusive;
    }
    __syncthreads();
    total = scratch[32];
    unsigned int result = scratch[warp] + inclusive - value;
    __syncthreads(); // the caller may reuse `scratch` right away
    return result;
}

// The GEMM scalars of a product, scalars[0] = a·β and scalars[1] = c, with β = b / (b − η) from the dropped count
// at `dropped` (none: β = 1), and scalars[2] = 0, the β of a GEMM into a float32 staging block. Computed on the device,
// so η never visits the host, and written into the product's workspace, so an engine keeps no scalars of its own. One
// thread calls it.
// True, in every thread of the block, for the block of the grid that finishes last: each block takes a ticket from
// `*ticket` (zeroed before the launch) once all its threads are done, and the one that takes gridDim.x − 1 goes on to
// do what needs every block's results (a grid-wide step without a launch of its own). The fences order every block's
// writes before its ticket; the last block must then read what other blocks wrote in this launch with
// pamm_load_coherent, since an ordinary load may hit a line its SM cached earlier in the launch (the L1 is not coherent).
// Every thread of the block must call it.
// A load served from the device-wide level (L2), never from the SM's own L1: volatile, as the CUDA programming guide's
// last-block example reads the other blocks' results.
__device__ __forceinline__ unsigned int pamm_load_coherent(const unsigned int* address)
{
    return *static_cast<const volatile unsigned int*>(address);
}

__device__ __forceinline__ bool pamm_last_block_done(unsigned int* ticket)
{
    __shared__ bool last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == gridDim.x - 1u;
    __syncthreads();
    if (last) __threadfence();
    return last;
}

__device__ __forceinline__ void pamm_write_product_scalars(const int* __restrict__ dropped, int rows, float a, float c,
                                                           float* __restrict__ scalars)
{
    int eta = dropped != 0 ? *dropped : 0;
    double beta = eta >= rows ? 0.0 : (double)rows / (double)(rows - eta);
    scalars[0] = (float)((double)a * beta);
    scalars[1] = c;
    scalars[2] = 0.0f;
}

// A batch of products: up to PAMM_MAX_BATCHED_PRODUCTS products of one compression (the weight gradients of Q, K and V,
// which share X), each stage one launch for all of them, product z in the blocks of blockIdx.z. The products share
// the gradient's dtype, the output's dtype and layout, a and c; each has its own G, column count m_z and output. Their
// scratch (partial sums, B̃) lies side by side: product z's starts pamm_batch_offset columns into the batch's, every
// range before it padded to PAMM_BATCH_COLUMN_ALIGNMENT columns so that each product's float4 stores stay 16-byte
// aligned. A single product is a batch of one, so each stage has one kernel.
#define PAMM_MAX_BATCHED_PRODUCTS 3
#define PAMM_BATCH_COLUMN_ALIGNMENT 4

// This block's product's value among the batch's three (blockIdx.z is uniform, so the pick costs no divergence).
template <typename T>
__device__ __forceinline__ T pamm_batch_pick(T first, T second, T third)
{
    return blockIdx.z == 0 ? first : blockIdx.z == 1 ? second : third;
}

// The column where this block's product's scratch starts in the batch's (the third product's count is never needed).
__device__ __forceinline__ long long pamm_batch_offset(int columns0, int columns1)
{
    const long long a = PAMM_BATCH_COLUMN_ALIGNMENT;
    long long padded0 = (columns0 + a - 1) / a * a, padded1 = (columns1 + a - 1) / a * a;
    return blockIdx.z == 0 ? 0 : blockIdx.z == 1 ? padded0 : padded0 + padded1;
}
