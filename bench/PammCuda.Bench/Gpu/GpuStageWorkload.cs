using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// The engine's pipeline on one input, ready to run any stage alone: random X (b × n) and G (b × m) and an output
/// (n × m) in one element type, with every stage run once (compression, then one product) so that each stage's
/// inputs are in place.
/// </summary>
internal sealed class GpuStageWorkload : IDisposable
{
    private readonly IDisposable[] _buffers;

    private GpuStageWorkload(PammStages stages, IDisposable[] buffers)
    {
        Stages = stages;
        _buffers = buffers;
    }

    /// <summary>The stage runner.</summary>
    public PammStages Stages { get; }

    /// <summary>Uploads the inputs, runs the whole pipeline once and waits for the device.</summary>
    /// <exception cref="InvalidOperationException">A dtype the GPU suite does not run.</exception>
    public static GpuStageWorkload Create(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options, DType dtype) =>
        dtype switch
        {
            DType.Float32 => Create<float>(device, stream, rows, width, options),
            DType.BFloat16 => Create<BFloat16>(device, stream, rows, width, options),
            _ => throw new InvalidOperationException($"The GPU suite does not run {dtype}."),
        };

    /// <summary>Frees the runner and the buffers.</summary>
    public void Dispose()
    {
        Stages.Dispose();
        foreach (var buffer in _buffers)
            buffer.Dispose();
    }

    private static GpuStageWorkload Create<T>(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options)
        where T : unmanaged
    {
        long elements = (long)rows * width;
        var x = device.Allocate<T>(elements);
        var gradient = device.Allocate<T>(elements);
        var output = device.Allocate<T>((long)width * width);
        IDisposable[] buffers = [x, gradient, output];
        PammStages? stages = null;
        try
        {
            x.CopyFrom(HostData.SharedUniform<T>(elements, seed: 1), stream);
            gradient.CopyFrom(HostData.SharedUniform<T>(elements, seed: 2), stream);
            stages = new PammStages(device, stream, options, x.Address, rows, width, gradient.Address, width, output.Address, DTypes.Of<T>());
            stages.Compress();
            stages.Product();
            stream.Synchronize();
            return new GpuStageWorkload(stages, buffers);
        }
        catch
        {
            stages?.Dispose();
            foreach (var buffer in buffers)
                buffer.Dispose();
            throw;
        }
    }
}
