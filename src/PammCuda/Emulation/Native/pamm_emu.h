// pamm_emu.h: force-included (g++ -include) before every kernels/*.cu when the emulated device compiles
// them for the host. It supplies the CUDA language subset the kernels may use (see kernels/README.md)
// with CUDA's block and warp semantics; pamm_emu_runtime.cpp runs the grids.
//
// Execution model: a block runs on one OS thread; each CUDA thread of the block is a fiber on that
// thread, switched only at barriers (__syncthreads, __syncwarp, warp collectives). That is why a
// function-static thread_local is exactly per-block shared memory.
#ifndef PAMM_EMU_H
#define PAMM_EMU_H

#define PAMM_EMULATED 1

// Standard headers come before the CUDA keyword macros: libstdc++ spells attributes like
// __attribute__((__noinline__)), which a __noinline__ macro would break.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cstddef>
#include <type_traits>
#include <utility>

// ---- CUDA built-in types ----------------------------------------------------------------------
struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(8) uint2 { unsigned int x, y; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };

static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return int2{x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
static inline uint2 make_uint2(unsigned int x, unsigned int y) { return uint2{x, y}; }
static inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return uint4{x, y, z, w}; }

// ---- the interface to the runtime -------------------------------------------------------------
// What the launching side passes to a kernel's trampoline (mirrored by EmulatedLaunchConfig in C#).
struct pamm_emu_launch_config {
    unsigned int grid[3];
    unsigned int block[3];
    int dynamic_shared_bytes;
    int worker_threads;
    // The order in which blocks are handed to the workers and a block's threads take their turns between
    // barriers and warp collectives (EmulatedExecutionOrder: 0 ascending, 1 descending, 2 shuffled by order_seed:
    // the blocks once a launch, the turns anew each round).
    int execution_order;
    unsigned int order_seed;
};

// The state of the CUDA thread running now; the runtime points pamm_emu_current at it before
// switching to a fiber.
struct pamm_emu_thread_state {
    uint3 thread_idx;
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
    void* dynamic_shared;
};

extern __thread pamm_emu_thread_state* pamm_emu_current;

enum pamm_emu_warp_op {
    PAMM_EMU_SHFL_IDX,
    PAMM_EMU_SHFL_UP,
    PAMM_EMU_SHFL_DOWN,
    PAMM_EMU_SHFL_XOR,
    PAMM_EMU_BALLOT,
    PAMM_EMU_ANY,
    PAMM_EMU_ALL,
    PAMM_EMU_SYNCWARP,
};

extern "C" int pamm_emu_run_grid(const pamm_emu_launch_config* config, const char* kernel, void (*body)(void**), void** args);
void pamm_emu_syncthreads(const char* site);
unsigned long long pamm_emu_warp_collective(const char* site, pamm_emu_warp_op op, unsigned int mask, unsigned long long value, int lane_argument, int width);
[[noreturn]] void pamm_emu_trap(const char* site);

#define PAMM_EMU_STRINGIFY2(x) #x
#define PAMM_EMU_STRINGIFY(x) PAMM_EMU_STRINGIFY2(x)
// A barrier's call site: names it in error messages and tells a divergent __syncthreads from a loop.
#define PAMM_EMU_SITE __FILE__ ":" PAMM_EMU_STRINGIFY(__LINE__)

// ---- qualifiers ---------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static thread_local

#define threadIdx (static_cast<const uint3&>(pamm_emu_current->thread_idx))
#define blockIdx (static_cast<const uint3&>(pamm_emu_current->block_idx))
#define blockDim (static_cast<const dim3&>(pamm_emu_current->block_dim))
#define gridDim (static_cast<const dim3&>(pamm_emu_current->grid_dim))
static constexpr int warpSize = 32;

#define PAMM_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(pamm_emu_current->dynamic_shared)

// ---- the launch trampoline ----------------------------------------------------------------------
template <class... A, std::size_t... I>
inline void pamm_emu_call(void (*kernel)(A...), void** args, std::index_sequence<I...>)
{
    (void)args;
    kernel(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

template <class F> struct pamm_emu_arity;
template <class... A> struct pamm_emu_arity<void (*)(A...)> { static constexpr std::size_t value = sizeof...(A); };

template <auto Kernel>
void pamm_emu_body(void** args)
{
    pamm_emu_call(Kernel, args, std::make_index_sequence<pamm_emu_arity<decltype(Kernel)>::value>{});
}

// Unpacks cuLaunchKernel-style arguments (one pointer per parameter) by the kernel's own parameter types.
#define PAMM_EXPORT_KERNEL(name)                                                                         \
    extern "C" __attribute__((visibility("default"))) int pamm_emu_launch_##name(                       \
        const pamm_emu_launch_config* config, void** args)                                              \
    {                                                                                                   \
        return pamm_emu_run_grid(config, #name, &pamm_emu_body<&name>, args);                           \
    }

// ---- synchronisation and warp collectives --------------------------------------------------------
#define __syncthreads() pamm_emu_syncthreads(PAMM_EMU_SITE)
#define __trap() pamm_emu_trap(PAMM_EMU_SITE)
#define __threadfence() __atomic_thread_fence(__ATOMIC_SEQ_CST)

// __syncwarp's mask is optional; a call object keeps the call site without a variadic-macro extension.
struct pamm_emu_syncwarp {
    const char* site;
    void operator()(unsigned int mask = 0xffffffffu) const { pamm_emu_warp_collective(site, PAMM_EMU_SYNCWARP, mask, 0, 0, 32); }
};
#define __syncwarp pamm_emu_syncwarp{PAMM_EMU_SITE}

template <class T>
inline unsigned long long pamm_emu_to_bits(T value)
{
    unsigned long long bits = 0;
    memcpy(&bits, &value, sizeof(T));
    return bits;
}

template <class T>
inline T pamm_emu_from_bits(unsigned long long bits)
{
    T value;
    memcpy(&value, &bits, sizeof(T));
    return value;
}

// Overloads rather than a template, so that an argument of another type converts as CUDA's overloads convert it.
#define PAMM_EMU_SHUFFLES(T)                                                                                     \
    static inline T pamm_emu_shfl(const char* site, unsigned int mask, T var, int lane, int width = 32)         \
    { return pamm_emu_from_bits<T>(pamm_emu_warp_collective(site, PAMM_EMU_SHFL_IDX, mask, pamm_emu_to_bits(var), lane, width)); } \
    static inline T pamm_emu_shfl_up(const char* site, unsigned int mask, T var, unsigned int delta, int width = 32) \
    { return pamm_emu_from_bits<T>(pamm_emu_warp_collective(site, PAMM_EMU_SHFL_UP, mask, pamm_emu_to_bits(var), static_cast<int>(delta), width)); } \
    static inline T pamm_emu_shfl_down(const char* site, unsigned int mask, T var, unsigned int delta, int width = 32) \
    { return pamm_emu_from_bits<T>(pamm_emu_warp_collective(site, PAMM_EMU_SHFL_DOWN, mask, pamm_emu_to_bits(var), static_cast<int>(delta), width)); } \
    static inline T pamm_emu_shfl_xor(const char* site, unsigned int mask, T var, int lane_mask, int width = 32) \
    { return pamm_emu_from_bits<T>(pamm_emu_warp_collective(site, PAMM_EMU_SHFL_XOR, mask, pamm_emu_to_bits(var), lane_mask, width)); }

PAMM_EMU_SHUFFLES(int)
PAMM_EMU_SHUFFLES(unsigned int)
PAMM_EMU_SHUFFLES(long)
PAMM_EMU_SHUFFLES(unsigned long)
PAMM_EMU_SHUFFLES(long long)
PAMM_EMU_SHUFFLES(unsigned long long)
PAMM_EMU_SHUFFLES(float)
PAMM_EMU_SHUFFLES(double)
#undef PAMM_EMU_SHUFFLES

#define __shfl_sync(...) pamm_emu_shfl(PAMM_EMU_SITE, __VA_ARGS__)
#define __shfl_up_sync(...) pamm_emu_shfl_up(PAMM_EMU_SITE, __VA_ARGS__)
#define __shfl_down_sync(...) pamm_emu_shfl_down(PAMM_EMU_SITE, __VA_ARGS__)
#define __shfl_xor_sync(...) pamm_emu_shfl_xor(PAMM_EMU_SITE, __VA_ARGS__)
#define __ballot_sync(mask, predicate) \
    static_cast<unsigned int>(pamm_emu_warp_collective(PAMM_EMU_SITE, PAMM_EMU_BALLOT, (mask), (predicate) ? 1u : 0u, 0, 32))
#define __any_sync(mask, predicate) \
    static_cast<int>(pamm_emu_warp_collective(PAMM_EMU_SITE, PAMM_EMU_ANY, (mask), (predicate) ? 1u : 0u, 0, 32))
#define __all_sync(mask, predicate) \
    static_cast<int>(pamm_emu_warp_collective(PAMM_EMU_SITE, PAMM_EMU_ALL, (mask), (predicate) ? 1u : 0u, 0, 32))

// ---- atomics: blocks run concurrently on OS threads, so these are real atomics ------------------
#define PAMM_EMU_ATOMICS(T)                                                                              \
    static inline T atomicAdd(T* address, T value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); } \
    static inline T atomicExch(T* address, T value) { return __atomic_exchange_n(address, value, __ATOMIC_RELAXED); } \
    static inline T atomicCAS(T* address, T compare, T value)                                         \
    {                                                                                                   \
        __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
        return compare;                                                                                 \
    }                                                                                                   \
    static inline T atomicMax(T* address, T value)                                                      \
    {                                                                                                   \
        T old = __atomic_load_n(address, __ATOMIC_RELAXED);                                             \
        while (old < value && !__atomic_compare_exchange_n(address, &old, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {} \
        return old;                                                                                     \
    }                                                                                                   \
    static inline T atomicMin(T* address, T value)                                                      \
    {                                                                                                   \
        T old = __atomic_load_n(address, __ATOMIC_RELAXED);                                             \
        while (value < old && !__atomic_compare_exchange_n(address, &old, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {} \
        return old;                                                                                     \
    }

PAMM_EMU_ATOMICS(int)
PAMM_EMU_ATOMICS(unsigned int)
#undef PAMM_EMU_ATOMICS

static inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value)
{
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

static inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare, unsigned long long value)
{
    __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return compare;
}

static inline float atomicAdd(float* address, float value)
{
    unsigned int* bits = reinterpret_cast<unsigned int*>(address);
    unsigned int old = __atomic_load_n(bits, __ATOMIC_RELAXED);
    unsigned int sum;
    do sum = static_cast<unsigned int>(pamm_emu_to_bits(pamm_emu_from_bits<float>(old) + value));
    while (!__atomic_compare_exchange_n(bits, &old, sum, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return pamm_emu_from_bits<float>(old);
}

// ---- integer and bit intrinsics -------------------------------------------------------------------
static inline int __popc(unsigned int x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned int>(x)); }
static inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline unsigned int __umulhi(unsigned int a, unsigned int b)
{
    return static_cast<unsigned int>((static_cast<unsigned long long>(a) * b) >> 32);
}
static inline unsigned int __float_as_uint(float x) { return pamm_emu_from_bits<unsigned int>(pamm_emu_to_bits(x)); }
static inline float __uint_as_float(unsigned int x) { return pamm_emu_from_bits<float>(x); }
static inline int __float_as_int(float x) { return pamm_emu_from_bits<int>(pamm_emu_to_bits(x)); }
static inline float __int_as_float(int x) { return pamm_emu_from_bits<float>(static_cast<unsigned int>(x)); }
template <class T> inline T __ldg(const T* address) { return *address; }

// ---- math: libm supplies sqrtf, fabsf, fminf, fmaxf, fmaf, isnan, isinf ---------------------------
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
// Single roundings that a compiler may not contract into an fma (g++ without -mfma never does).
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }

// CUDA's min/max overload set (crt/math_functions.hpp), so mixed calls resolve (or fail) as under NVRTC.
#define PAMM_EMU_MINMAX(R, A, B)                                                   \
    static inline R min(A a, B b) { return static_cast<R>(a) < static_cast<R>(b) ? static_cast<R>(a) : static_cast<R>(b); } \
    static inline R max(A a, B b) { return static_cast<R>(a) > static_cast<R>(b) ? static_cast<R>(a) : static_cast<R>(b); }
PAMM_EMU_MINMAX(int, int, int)
PAMM_EMU_MINMAX(unsigned int, unsigned int, unsigned int)
PAMM_EMU_MINMAX(unsigned int, int, unsigned int)
PAMM_EMU_MINMAX(unsigned int, unsigned int, int)
PAMM_EMU_MINMAX(long, long, long)
PAMM_EMU_MINMAX(unsigned long, unsigned long, unsigned long)
PAMM_EMU_MINMAX(unsigned long, long, unsigned long)
PAMM_EMU_MINMAX(unsigned long, unsigned long, long)
PAMM_EMU_MINMAX(long long, long long, long long)
PAMM_EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
PAMM_EMU_MINMAX(unsigned long long, long long, unsigned long long)
PAMM_EMU_MINMAX(unsigned long long, unsigned long long, long long)
#undef PAMM_EMU_MINMAX
// Floating min/max are fminf/fmax in CUDA: a NaN operand yields the other operand.
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
static inline double min(float a, double b) { return fmin(a, b); }
static inline double max(float a, double b) { return fmax(a, b); }
static inline double min(double a, float b) { return fmin(a, b); }
static inline double max(double a, float b) { return fmax(a, b); }

#endif
