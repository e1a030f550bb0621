using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>The two stages only a 16-bit pipeline runs: C widened to float32 before the final GEMM, and the epilogue after it.</summary>
public class GpuSixteenBitStageBenchmarks() : GpuStageBenchmarksBase(typeof(GpuSixteenBitStageBenchmarks), [DType.BFloat16])
{
    /// <summary>16-bit C widened to float32.</summary>
    [Benchmark]
    [Measures(Operation.WidenGenerators)]
    public void StageWidenGenerators() => Time(nameof(StageWidenGenerators), Product.WidenGenerators);

    /// <summary>16-bit epilogue.</summary>
    [Benchmark]
    [Measures(Operation.StoreOutput)]
    public void StageStoreOutput() => Time(nameof(StageStoreOutput), Product.StoreOutput);
}
