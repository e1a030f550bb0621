using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// Generator sampling on both of its paths at the same b, up to the rows one block holds
/// (<see cref="PammKernels.SampleBlockRows"/>): the one launch of one block the engine takes there, and the fill and three launches
/// over the whole GPU it takes above. The bound is an estimate (kernels/README.md, "Sampling"); these rows check it,
/// and the sampling rows of the other classes (b = 16384, 65536) time the multi-block path the engine takes there.
/// n does not enter sampling: the shapes have n = 0.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet frees the buffers in [GlobalCleanup]; it subclasses benchmark classes and never disposes them.")]
public class GpuSamplingBenchmarks() : CompressionBenchmarks(ShapeSets.Sampling)
{
    private DeviceBuffer<byte>? _scratch;
    private DeviceBuffer<int>? _generators;
    private DeviceTimer? _timer;
    private int _k;

    /// <summary>Allocates the multi-block path's scratch and the output, and runs both paths once (which also compiles the kernels).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _k = Ratio.Options.ResolveK(Rows);
        _scratch = GpuSession.Device.Allocate<byte>(Math.Max(1, PammKernels.SamplingScratchBytes(Rows, SamplingPath.MultiBlock)));
        _generators = GpuSession.Device.Allocate<int>(_k);
        _timer = GpuSession.CreateTimer();
        Sample(SamplingPath.OneBlock);
        Sample(SamplingPath.MultiBlock);
        GpuSession.Stream.Synchronize();
    }

    /// <summary>Frees the device memory of the case.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _generators?.Dispose();
        _scratch?.Dispose();
        _generators = null;
        _scratch = null;
    }

    /// <summary>One launch of one block (the engine's path up to <see cref="PammKernels.SampleBlockRows"/> rows).</summary>
    [Benchmark]
    [Measures(Operation.SampleGenerators)]
    public void OneBlock() => Time(nameof(OneBlock), SamplingPath.OneBlock);

    /// <summary>A fill and three launches over the whole GPU (the engine's path above <see cref="PammKernels.SampleBlockRows"/> rows).</summary>
    [Benchmark]
    [Measures(Operation.SampleGenerators)]
    public void MultiBlock() => Time(nameof(MultiBlock), SamplingPath.MultiBlock);

    private void Time(string method, SamplingPath path)
    {
        var timer = _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
        timer.Time(CaseRecords.DeviceTimes(new CaseKey(ShapeOf(typeof(GpuSamplingBenchmarks)), method)), () => Sample(path));
    }

    private void Sample(SamplingPath path)
    {
        var scratch = _scratch ?? throw new InvalidOperationException("GlobalSetup has not run.");
        var generators = _generators ?? throw new InvalidOperationException("GlobalSetup has not run.");
        PammKernels.SampleGenerators(GpuSession.Stream, scratch.Address, Rows, _k, Ratio.Options.Seed, generators.Address, path);
    }
}
