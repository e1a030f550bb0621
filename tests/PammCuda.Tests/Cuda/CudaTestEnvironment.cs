namespace PammCuda.Tests.Cuda;

/// <summary>
/// What the CUDA tests share: a kernel of our own and a scratch directory. A test whose GPU or NVRTC is missing is
/// skipped by <see cref="Support.Requirements"/>.
/// </summary>
internal static class CudaTestEnvironment
{
    /// <summary>A kernel of our own (not PAMM's) with an in-memory header, used by the compile and launch tests.</summary>
    public const string ScaleAddSource = """
        #include "scale_helpers.cuh"

        extern "C" __global__ void __launch_bounds__(256)
        scale_add(const float* __restrict__ x, float* __restrict__ y, float a, unsigned long long n)
        {
            unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = scaled(x[i], a) + y[i];
        }

        extern "C" __global__ void block_sum(const float* __restrict__ x, float* __restrict__ sums)
        {
            extern __shared__ float partial[];
            partial[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
            __syncthreads();
            if (threadIdx.x == 0)
            {
                float total = 0.0f;
                for (unsigned int t = 0; t < blockDim.x; t++) total += partial[t];
                sums[blockIdx.x] = total;
            }
        }
        """;

    /// <summary>Has no <c>__device__</c>: compiles only because of <c>-default-device</c>.</summary>
    public static readonly KeyValuePair<string, string>[] ScaleAddHeaders =
        [new("scale_helpers.cuh", "inline float scaled(float v, float a) { return a * v; }\n")];

    public static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "pammcuda-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
