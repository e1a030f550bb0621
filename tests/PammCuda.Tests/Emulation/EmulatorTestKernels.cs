namespace PammCuda.Tests.Emulation;

/// <summary>Small kernels, written to the conventions of <c>kernels/</c>, that exercise one emulated CUDA feature each.</summary>
internal static class EmulatorTestKernels
{
    public const string CommonHeader = """
        // The fallbacks pamm_common.cuh gives NVRTC; the emulator's pamm_emu.h defines both first.
        #ifndef PAMM_EXPORT_KERNEL
        #define PAMM_EXPORT_KERNEL(name)
        #endif
        #ifndef PAMM_DYNAMIC_SHARED
        #define PAMM_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
        #endif
        constexpr int kSmallBlock = 128;
        """;

    public const string Features = """
        #include "emu_test_common.cuh"

        extern "C" __global__ void __launch_bounds__(1024) emu_index_map(unsigned int* out)
        {
            unsigned long long block = (blockIdx.z * (unsigned long long)gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
            unsigned int volume = blockDim.x * blockDim.y * blockDim.z;
            unsigned long long id = block * volume + (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
            unsigned int* slot = out + id * 8;
            slot[0] = threadIdx.x; slot[1] = threadIdx.y; slot[2] = threadIdx.z;
            slot[3] = blockIdx.x; slot[4] = blockIdx.y; slot[5] = blockIdx.z;
            slot[6] = volume; slot[7] = gridDim.x * gridDim.y * gridDim.z;
        }
        PAMM_EXPORT_KERNEL(emu_index_map)

        __device__ __forceinline__ long long block_sum(long long* partial, long long value)
        {
            partial[threadIdx.x] = value;
            __syncthreads();
            for (unsigned int half = blockDim.x / 2; half > 0; half >>= 1) {
                if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
                __syncthreads();
            }
            return partial[0];
        }

        extern "C" __global__ void __launch_bounds__(256) emu_sum_static(const int* __restrict__ in, unsigned long long* out, int n)
        {
            __shared__ long long partial[256];
            long long value = 0;
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) value += in[i];
            long long total = block_sum(partial, value);
            if (threadIdx.x == 0) atomicAdd(out, (unsigned long long)total);
        }
        PAMM_EXPORT_KERNEL(emu_sum_static)

        extern "C" __global__ void __launch_bounds__(1024) emu_sum_dynamic(const int* __restrict__ in, unsigned long long* out, int n)
        {
            PAMM_DYNAMIC_SHARED(long long, partial);
            long long value = 0;
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) value += in[i];
            long long total = block_sum(partial, value);
            if (threadIdx.x == 0) atomicAdd(out, (unsigned long long)total);
        }
        PAMM_EXPORT_KERNEL(emu_sum_dynamic)

        extern "C" __global__ void __launch_bounds__(64) emu_warp_ops(const int* __restrict__ in, int* out)
        {
            const unsigned int full = 0xffffffffu;
            int lane = threadIdx.x % 32;
            int v = in[threadIdx.x];
            int* slot = out + threadIdx.x * 10;
            slot[0] = __shfl_xor_sync(full, v, 5);
            slot[1] = __shfl_down_sync(full, v, 3);
            slot[2] = __shfl_up_sync(full, v, 2);
            slot[3] = __shfl_sync(full, v, 7);
            slot[4] = __shfl_sync(full, v, lane + 3, 8);
            slot[5] = (int)__ballot_sync(full, v > 50);
            slot[6] = __any_sync(full, v == 3);
            slot[7] = __all_sync(full, v >= 0);
            slot[8] = __float_as_int(__shfl_down_sync(full, v * 0.5f, 1));
            slot[9] = (int)(__shfl_xor_sync(full, (long long)v << 33, 1) >> 33);
        }
        PAMM_EXPORT_KERNEL(emu_warp_ops)

        extern "C" __global__ void __launch_bounds__(128) emu_atomics(unsigned int* counter, int* largest, int* smallest)
        {
            int id = blockIdx.x * blockDim.x + threadIdx.x;
            atomicAdd(counter, 1u);
            atomicMax(largest, id);
            atomicMin(smallest, -id);
        }
        PAMM_EXPORT_KERNEL(emu_atomics)

        extern "C" __global__ void __launch_bounds__(256) emu_copy(const float* __restrict__ in, float* __restrict__ out, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) out[i] = in[i];
        }
        PAMM_EXPORT_KERNEL(emu_copy)

        extern "C" __global__ void __launch_bounds__(256) emu_read_dynamic_shared(float* out)
        {
            PAMM_DYNAMIC_SHARED(float, scratch);
            out[threadIdx.x] = scratch[threadIdx.x];
        }
        PAMM_EXPORT_KERNEL(emu_read_dynamic_shared)

        extern "C" __global__ void __launch_bounds__(kSmallBlock) emu_small_block(int* flag)
        {
            *flag = 1;
        }
        PAMM_EXPORT_KERNEL(emu_small_block)

        extern "C" __global__ void __launch_bounds__(64) emu_divergent_barrier(int* out)
        {
            if (threadIdx.x < 16) {
                __syncthreads();
            } else {
                __syncthreads();
            }
            out[threadIdx.x] = 1;
        }
        PAMM_EXPORT_KERNEL(emu_divergent_barrier)

        extern "C" __global__ void __launch_bounds__(64) emu_shuffle_after_exit(int* out)
        {
            if (threadIdx.x >= 40) return;
            out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0);
        }
        PAMM_EXPORT_KERNEL(emu_shuffle_after_exit)

        extern "C" __global__ void __launch_bounds__(32) emu_trap(int* out)
        {
            if (threadIdx.x == 5) __trap();
            out[threadIdx.x] = 1;
        }
        PAMM_EXPORT_KERNEL(emu_trap)

        // Static shared memory that a launch reads, having written it only if asked to.
        extern "C" __global__ void __launch_bounds__(32) emu_static_shared(int* out, int write)
        {
            __shared__ int word;
            __shared__ float value;
            if (write && threadIdx.x == 0) { word = 5; value = 1.5f; }
            __syncthreads();
            out[2 * threadIdx.x] = word;
            out[2 * threadIdx.x + 1] = __float_as_int(value);
        }
        PAMM_EXPORT_KERNEL(emu_static_shared)

        // A store through a pointer far from any buffer (a wild write), by one thread of one block.
        extern "C" __global__ void __launch_bounds__(32) emu_wild_write(int* out, unsigned long long address)
        {
            if (blockIdx.x == 1 && threadIdx.x == 7) *reinterpret_cast<volatile int*>(address) = 1;
            out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
        }
        PAMM_EXPORT_KERNEL(emu_wild_write)

        // Recursion deep enough to run a fiber's stack into its guard page (a GPU would report a stack overflow).
        __device__ __noinline__ int emu_deep(volatile int depth)
        {
            volatile char frame[4096];
            frame[0] = (char)depth;
            return depth == 0 ? frame[0] : emu_deep(depth - 1) + frame[0];
        }

        extern "C" __global__ void __launch_bounds__(32) emu_stack_overflow(int* out, int depth)
        {
            out[threadIdx.x] = threadIdx.x == 2 ? emu_deep(depth) : 0;
        }
        PAMM_EXPORT_KERNEL(emu_stack_overflow)
        """;

    // A second unit defining a helper and a shared array of the same names as the first: under NVRTC each .cu
    // is compiled alone, so the emulator must link them without the two colliding.
    public const string SecondUnit = """
        #include "emu_test_common.cuh"

        __device__ int unit_value() { return 2; }

        extern "C" __global__ void __launch_bounds__(32) emu_second_unit(int* out)
        {
            out[threadIdx.x] = unit_value();
        }
        PAMM_EXPORT_KERNEL(emu_second_unit)
        """;

    public const string FirstUnitHelper = """

        __device__ int unit_value() { return 1; }

        extern "C" __global__ void __launch_bounds__(32) emu_first_unit(int* out)
        {
            out[threadIdx.x] = unit_value();
        }
        PAMM_EXPORT_KERNEL(emu_first_unit)
        """;

    // What EmulatedExecutionOrder changes: the order of the blocks and of a block's turns, and what a missing barrier then reads.
    public const string TurnOrder = """
        #include "emu_test_common.cuh"

        // Each thread's place in its block's turns in two rounds: after the first barrier and after the second.
        extern "C" __global__ void __launch_bounds__(1024) emu_turn_order(unsigned int* out)
        {
            __shared__ unsigned int taken[2];
            if (threadIdx.x == 0) { taken[0] = 0; taken[1] = 0; }
            __syncthreads();
            unsigned int* slot = out + 2 * (blockIdx.x * blockDim.x + threadIdx.x);
            slot[0] = atomicAdd(&taken[0], 1u);
            __syncthreads();
            slot[1] = atomicAdd(&taken[1], 1u);
        }
        PAMM_EXPORT_KERNEL(emu_turn_order)

        // Each block's place in the order the blocks ran in.
        extern "C" __global__ void __launch_bounds__(1024) emu_block_order(unsigned int* ticket, unsigned int* out)
        {
            if (threadIdx.x == 0) out[blockIdx.x] = atomicAdd(ticket, 1u);
        }
        PAMM_EXPORT_KERNEL(emu_block_order)

        // The next thread's shared value, read with or without the barrier that orders the read after its write.
        extern "C" __global__ void __launch_bounds__(1024) emu_neighbour(int* out, int synchronised)
        {
            PAMM_DYNAMIC_SHARED(int, value);
            value[threadIdx.x] = (int)threadIdx.x + 1;
            if (synchronised) __syncthreads();
            out[blockIdx.x * blockDim.x + threadIdx.x] = value[(threadIdx.x + 1) % blockDim.x];
        }
        PAMM_EXPORT_KERNEL(emu_neighbour)
        """;

    public static IReadOnlyList<KeyValuePair<string, string>> TranslationUnits =>
        [new("emu_features.cu", Features + FirstUnitHelper), new("emu_second.cu", SecondUnit), new("emu_order.cu", TurnOrder)];

    public static IReadOnlyList<KeyValuePair<string, string>> Headers => [new("emu_test_common.cuh", CommonHeader)];
}
