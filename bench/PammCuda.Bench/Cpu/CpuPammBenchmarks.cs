using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Cpu;

/// <summary>PAMM on the CPU backend: compression, one approximate product, and one layer's compress + Q/K/V products.</summary>
public class CpuPammBenchmarks
{
    private ICpuPammWorkload? _workload;

    /// <summary>n = m.</summary>
    [ParamsSource(nameof(Widths))]
    public int Width { get; set; }

    /// <summary>b.</summary>
    [ParamsSource(nameof(RowCounts))]
    public int Rows { get; set; }

    /// <summary>r.</summary>
    [ParamsSource(nameof(Ratios))]
    public GeneratorRatio Ratio { get; set; } = new(512);

    /// <summary>Element type of X, G and the output.</summary>
    [ParamsSource(nameof(DTypes))]
    public DType DType { get; set; }

    /// <summary>Values of <see cref="Width"/>.</summary>
    public static IEnumerable<int> Widths => ShapeSets.CpuWidths;

    /// <summary>Values of <see cref="Rows"/>.</summary>
    public static IEnumerable<int> RowCounts => ShapeSets.CpuRows;

    /// <summary>Values of <see cref="Ratio"/>.</summary>
    public static IEnumerable<GeneratorRatio> Ratios => ShapeSets.CpuRatios;

    /// <summary>Values of <see cref="DType"/>.</summary>
    public static IEnumerable<DType> DTypes => ShapeSets.DTypes;

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
        CaseRecords.RecordCompression(new ShapeKey(typeof(CpuPammBenchmarks), Width, Rows, Ratio.Denominator, DType), _workload.Compressed);
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
