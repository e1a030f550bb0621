using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// Compression with each way of computing the similarities (see <see cref="SimilarityPath"/>): chunked cuBLAS GEMMs
/// into scratch + the assignment kernel, against the fused similarity + argmax kernel. Both compress the same X with
/// the same generators, so the difference between the two rows of a shape is the similarity step alone. The engine's
/// default is chosen from these numbers (kernels/README.md).
/// </summary>
public class GpuSimilarityBenchmarks() : CompressionBenchmarks(ShapeSets.Similarity)
{
    private IGpuSimilarityWorkload? _workload;
    private DeviceTimer? _timer;

    private ShapeKey Shape => ShapeOf(typeof(GpuSimilarityBenchmarks));

    /// <summary>Uploads X, compresses it once on each path (which also compiles the kernels) and records the compressed size.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var device = GpuSession.Device;
        var stream = GpuSession.Stream;
        _workload = DType switch
        {
            DType.Float32 => new GpuSimilarityWorkload<float>(device, stream, Rows, Width, Ratio.Options),
            DType.BFloat16 => new GpuSimilarityWorkload<BFloat16>(device, stream, Rows, Width, Ratio.Options),
            _ => throw new InvalidOperationException($"The GPU suite does not run {DType}."),
        };
        using (var compressed = _workload.CompressGemm())
            CaseRecords.RecordCompression(Shape, compressed);
        _timer = new DeviceTimer(stream);
    }

    /// <summary>Frees X and the engines.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _workload?.Dispose();
        _workload = null;
    }

    /// <summary>Compression with cuBLAS similarities (S in row chunks) and the assignment kernel.</summary>
    [Benchmark]
    [Measures(Operation.Compress)]
    public void CompressGemm() => Timer.TimeAndDispose(Samples(nameof(CompressGemm)), Workload.CompressGemm);

    /// <summary>Compression with the fused similarity + argmax kernel.</summary>
    [Benchmark]
    [Measures(Operation.Compress)]
    public void CompressFused() => Timer.TimeAndDispose(Samples(nameof(CompressFused)), Workload.CompressFused);

    private List<double> Samples(string method) => CaseRecords.DeviceTimes(new CaseKey(Shape, method));

    private IGpuSimilarityWorkload Workload => _workload ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private DeviceTimer Timer => _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
}
