using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>The two stages only a 16-bit pipeline runs: C widened to float32 before the final GEMM, and the epilogue after it.</summary>
public class GpuSixteenBitStageBenchmarks() : GpuStageBenchmarksBase(typeof(GpuSixteenBitStageBenchmarks))
{
    /// <summary>Element type of X, G and the output.</summary>
    [ParamsSource(nameof(DTypes))]
    public DType DType { get; set; }

    /// <summary>Values of <see cref="DType"/>: the 16-bit type the suite runs.</summary>
    public static IEnumerable<DType> DTypes => [DType.BFloat16];

    /// <inheritdoc/>
    protected override DType ElementType => DType;

    /// <summary>16-bit C widened to float32.</summary>
    [Benchmark]
    [Measures(Operation.WidenGenerators)]
    public void StageWidenGenerators() => Time(nameof(StageWidenGenerators), Stages.WidenGenerators);

    /// <summary>16-bit epilogue.</summary>
    [Benchmark]
    [Measures(Operation.StoreOutput)]
    public void StageStoreOutput() => Time(nameof(StageStoreOutput), Stages.StoreOutput);
}
