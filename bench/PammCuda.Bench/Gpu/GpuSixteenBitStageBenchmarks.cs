using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>The stage only a 16-bit pipeline runs: C widened to float32 (once per compression, in its plan) for the last stage.</summary>
public class GpuSixteenBitStageBenchmarks() : GpuStageBenchmarksBase(typeof(GpuSixteenBitStageBenchmarks), [DType.BFloat16])
{
    /// <summary>16-bit C widened to float32.</summary>
    [Benchmark]
    [Measures(Operation.WidenGenerators)]
    public void StageWidenGenerators() => Time(nameof(StageWidenGenerators), Product.WidenGenerators);

}
