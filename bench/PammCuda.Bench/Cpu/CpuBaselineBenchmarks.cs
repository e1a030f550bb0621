using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;
using PammCuda.Cpu;

namespace PammCuda.Bench.Cpu;

/// <summary>
/// What the CPU backend is compared with: OpenBLAS's exact Xᵀ G in float32 (the reference for float32), the CPU
/// backend's own exact product (the reference for bfloat16, which Debian's OpenBLAS has no GEMM for), and a copy of
/// X and G (the memory-bandwidth limit).
/// </summary>
public class CpuBaselineBenchmarks() : ShapedBenchmarks(ShapeSets.Cpu)
{
    private Inputs<float>? _float32;
    private Inputs<BFloat16>? _bfloat16;

    /// <summary>Prepares random X and G in both element types.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _float32 = new Inputs<float>(Rows, Width);
        _bfloat16 = new Inputs<BFloat16>(Rows, Width);
    }

    /// <summary>OpenBLAS <c>cblas_sgemm</c>: exact Xᵀ G in float32.</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.Float32, IsReference = true)]
    public void OpenBlasSgemm()
    {
        var blas = OpenBlas.Shared ?? throw new InvalidOperationException(OpenBlas.UnavailableReason);
        var inputs = Float32;
        blas.TransposedProduct(inputs.X, Rows, Width, inputs.G, Width, inputs.Output);
    }

    /// <summary>The CPU backend's exact Xᵀ G in float32.</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.Float32)]
    public void CpuExactFloat32() => Float32.Exact();

    /// <summary>The CPU backend's exact Xᵀ G in bfloat16 (float32 accumulation).</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.BFloat16, IsReference = true)]
    public void CpuExactBFloat16() => BFloat16Inputs.Exact();

    /// <summary>Copy of X and of G in float32.</summary>
    [Benchmark]
    [Measures(Operation.Copy, DType.Float32, IsReference = true)]
    public void CopyFloat32() => Float32.Copy();

    /// <summary>Copy of X and of G in bfloat16.</summary>
    [Benchmark]
    [Measures(Operation.Copy, DType.BFloat16, IsReference = true)]
    public void CopyBFloat16() => BFloat16Inputs.Copy();

    private Inputs<float> Float32 => _float32 ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private Inputs<BFloat16> BFloat16Inputs => _bfloat16 ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private sealed class Inputs<T>(int rows, int width) where T : unmanaged
    {
        public T[] X { get; } = HostData.Uniform<T>((long)rows * width, seed: 1);

        public T[] G { get; } = HostData.Uniform<T>((long)rows * width, seed: 2);

        public T[] Output { get; } = new T[(long)width * width];

        private readonly T[] _xCopy = new T[(long)rows * width];
        private readonly T[] _gCopy = new T[(long)rows * width];

        public void Exact() => CpuPamm.ExactMatmul<T, T, T>(X, rows, width, G, width, Output);

        public void Copy()
        {
            X.AsSpan().CopyTo(_xCopy);
            G.AsSpan().CopyTo(_gCopy);
        }
    }
}
