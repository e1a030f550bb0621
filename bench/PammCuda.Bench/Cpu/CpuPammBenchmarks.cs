using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Cpu;

/// <summary>PAMM on the CPU backend: compression, one approximate product, and one layer's compress + Q/K/V products.</summary>
public class CpuPammBenchmarks() : CompressionBenchmarks(ShapeSets.Cpu)
{
    private ICpuPammWorkload? _workload;

    /// <summary>Prepares the inputs, compresses X once and records what the compressed form keeps.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _workload = DType switch
        {
            DType.Float32 => new CpuPammWorkload<float>(Rows, Width, Ratio.Options),
            DType.BFloat16 => new CpuPammWorkload<BFloat16>(Rows, Width, Ratio.Options),
            _ => throw new InvalidOperationException($"The CPU suite does not run {DType}."),
        };
        CaseRecords.RecordCompression(ShapeOf(typeof(CpuPammBenchmarks)), _workload.Compressed);
    }

    /// <summary>Compression of X.</summary>
    [Benchmark]
    [Measures(Operation.Compress)]
    public void Compress() => Workload.Compress();

    /// <summary>One approximate product from the compressed X.</summary>
    [Benchmark]
    [Measures(Operation.ApproxMatmul)]
    public void ApproxMatmul() => Workload.ApproxMatmul();

    /// <summary>Compression, then the Q, K and V products.</summary>
    [Benchmark]
    [Measures(Operation.CompressAndQkv)]
    public void CompressAndQkv() => Workload.CompressAndQkv();

    private ICpuPammWorkload Workload => _workload ?? throw new InvalidOperationException("GlobalSetup has not run.");
}
