using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// What the stage benchmark classes share: the shapes (<see cref="ShapeSets.Stages"/>: one shape with <c>--quick</c>, a
/// tiny one on the emulated device), the prepared pipeline and the device timing of one stage.
/// </summary>
/// <param name="declared">The derived class as declared, which the result columns key its records by.</param>
/// <param name="dtypes">The element types the derived class runs.</param>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet frees the workload in [GlobalCleanup]; it subclasses benchmark classes and never disposes them.")]
public abstract class GpuStageBenchmarksBase(Type declared, IEnumerable<DType> dtypes)
    : CompressionBenchmarks(ShapeSets.Stages with { DTypes = dtypes })
{
    private GpuStageWorkload? _workload;
    private DeviceTimer? _timer;

    /// <summary>The engine's compression pass, after the whole pipeline ran once.</summary>
    private protected CompressPass Compress => Workload.Compress;

    /// <summary>The engine's product pass, after the whole pipeline ran once.</summary>
    private protected ProductPass Product => Workload.Product;

    /// <summary>The last stage as it was before <c>pamm_expand</c> (cuBLAS and, for 16-bit outputs, a rounding pass).</summary>
    private protected Action LastStageByCublas => Workload.LastStageByCublas;

    /// <summary>The other sort-free product's dense assignment Pᵀ, built from f and α.</summary>
    private protected Action AssignmentMatrix => Workload.AssignmentMatrix;

    /// <summary>The other sort-free product's B̃ = Pᵀ G, one cuBLAS GEMM.</summary>
    private protected Action ReduceByGemm => Workload.ReduceByGemm;

    private GpuStageWorkload Workload => _workload ?? throw new InvalidOperationException("GlobalSetup has not run.");

    /// <summary>Uploads the inputs and runs the whole pipeline once (which also compiles the kernels).</summary>
    /// <exception cref="InvalidOperationException">The engine would chunk the similarity GEMM at this shape, which one chunk's timing would not cover.</exception>
    [GlobalSetup]
    public void Setup()
    {
        _workload = GpuStageWorkload.Create(GpuSession.Device, GpuSession.Stream, Rows, Width, Ratio.Options, DType);
        _timer = GpuSession.CreateTimer();
        if (_workload.Compress.SimilarityChunks != 1)
            throw new InvalidOperationException($"b = {Rows} with k = {_workload.Compress.K} splits the similarity GEMM into " +
                $"{_workload.Compress.SimilarityChunks} chunks; the stage benchmarks time one.");
    }

    /// <summary>Frees the device memory of the case.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _workload?.Dispose();
        _workload = null;
    }

    /// <summary>Times <paramref name="stage"/> into the records of <paramref name="method"/>.</summary>
    protected void Time(string method, Action stage)
    {
        var timer = _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
        timer.Time(CaseRecords.DeviceTimes(new CaseKey(ShapeOf(declared), method)), stage);
    }
}
