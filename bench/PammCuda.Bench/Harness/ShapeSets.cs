namespace PammCuda.Bench.Harness;

/// <summary>
/// The parameter values the suites run. BenchmarkDotNet reads them through <c>[ParamsSource]</c> properties of the
/// benchmark classes, which it creates itself; the program sets <see cref="Quick"/> and <see cref="Emulated"/> before it
/// starts BenchmarkDotNet, which runs in this process.
/// </summary>
public static class ShapeSets
{
    /// <summary>Narrow every suite to a small subset (<c>--quick</c>).</summary>
    public static bool Quick { get; set; }

    /// <summary>The GPU suite runs on the emulated device: tiny shapes only, since it runs kernels on the CPU.</summary>
    public static bool Emulated { get; set; }

    /// <summary>Both dtypes the suites compare.</summary>
    public static IEnumerable<DType> DTypes => [DType.Float32, DType.BFloat16];

    /// <summary>n = m of the GPU suite.</summary>
    public static IEnumerable<int> GpuWidths => Emulated ? [64] : Quick ? [2048] : [768, 2048, 4096];

    /// <summary>b of the GPU suite.</summary>
    public static IEnumerable<int> GpuRows => Emulated ? [1024] : Quick ? [16384] : [16384, 65536];

    /// <summary>r of the GPU suite.</summary>
    public static IEnumerable<GeneratorRatio> GpuRatios => Emulated ? [new(64)] : Quick ? [new(512)] : [new(64), new(512)];

    /// <summary>n = m of the CPU suite.</summary>
    public static IEnumerable<int> CpuWidths => Quick ? [256] : [256, 768];

    /// <summary>b of the CPU suite.</summary>
    public static IEnumerable<int> CpuRows => Quick ? [4096] : [4096, 16384];

    /// <summary>r of the CPU suite.</summary>
    public static IEnumerable<GeneratorRatio> CpuRatios => Quick ? [new(512)] : [new(64), new(512)];
}
