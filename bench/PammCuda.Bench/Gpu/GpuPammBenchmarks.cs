using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// The engine's operations on the device, each timed by device events per invocation (see <see cref="DeviceTimer"/>):
/// generator sampling (the kernels alone, on the path the engine takes for b), compression (also with refined generators),
/// one approximate product, and one
/// layer's compression + Q/K/V products, as three products and as one batched pass.
/// </summary>
public class GpuPammBenchmarks() : CompressionBenchmarks(ShapeSets.Gpu)
{
    private IGpuPammWorkload? _workload;
    private DeviceTimer? _timer;

    private ShapeKey Shape => ShapeOf(typeof(GpuPammBenchmarks));

    /// <summary>Uploads the inputs, compresses X once (which also compiles the kernels) and records what the compressed form keeps.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var device = GpuSession.Device;
        var stream = GpuSession.Stream;
        _workload = DType switch
        {
            DType.Float32 => new GpuPammWorkload<float>(device, stream, Rows, Width, Ratio.Options),
            DType.BFloat16 => new GpuPammWorkload<BFloat16>(device, stream, Rows, Width, Ratio.Options),
            _ => throw new InvalidOperationException($"The GPU suite does not run {DType}."),
        };
        _timer = GpuSession.CreateTimer();
        CaseRecords.RecordCompression(Shape, _workload.Compressed);
    }

    /// <summary>Frees the device memory of the case.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _workload?.Dispose();
        _workload = null;
    }

    /// <summary>Generator sampling alone.</summary>
    [Benchmark]
    [Measures(Operation.SampleGenerators)]
    public void SampleGenerators() => Timer.Time(Samples(nameof(SampleGenerators)), Workload.SampleGenerators);

    /// <summary>Compression of X.</summary>
    [Benchmark]
    [Measures(Operation.Compress)]
    public void Compress() => Timer.TimeAndDispose(Samples(nameof(Compress)), Workload.Compress);

    /// <summary>Compression of X with refined generators: what the option adds to <see cref="Compress"/>.</summary>
    [Benchmark]
    [Measures(Operation.CompressRefined)]
    public void CompressRefined() => Timer.TimeAndDispose(Samples(nameof(CompressRefined)), Workload.CompressRefined);

    /// <summary>One approximate product from the compressed X.</summary>
    [Benchmark]
    [Measures(Operation.ApproxMatmul)]
    public void ApproxMatmul() => Timer.Time(Samples(nameof(ApproxMatmul)), Workload.ApproxMatmul);

    /// <summary>Compression, then the Q, K and V products.</summary>
    [Benchmark]
    [Measures(Operation.CompressAndQkv)]
    public void CompressAndQkv() => Timer.TimeAndDispose(Samples(nameof(CompressAndQkv)), Workload.CompressAndQkv);

    /// <summary>Compression, then the Q, K and V products in one batched pass (as <c>PammQKV</c> runs them).</summary>
    [Benchmark]
    [Measures(Operation.CompressAndQkvBatched)]
    public void CompressAndQkvBatched() =>
        Timer.TimeAndDispose(Samples(nameof(CompressAndQkvBatched)), Workload.CompressAndQkvBatched);

    private List<double> Samples(string method) => CaseRecords.DeviceTimes(new CaseKey(Shape, method));

    private IGpuPammWorkload Workload => _workload ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private DeviceTimer Timer => _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
}
