using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// PAMM on the device for one element type: random X (b × n) and three G (b × m, the Q, K and V gradients) in device
/// memory, three outputs n × m in <typeparamref name="T"/>, and X compressed once for the products.
/// </summary>
public sealed class GpuPammWorkload<T> : IGpuPammWorkload where T : unmanaged
{
    private readonly int _rows;
    private readonly int _width;
    private readonly IDeviceStream _stream;
    private readonly PammEngine _engine;
    private readonly DeviceBuffer<T> _x;
    private readonly DeviceBuffer<T>[] _gradients;
    private readonly DeviceBuffer<T>[] _outputs;
    private readonly BatchedProduct[] _qkv;
    private readonly GpuCompressedActivation _compressed;
    private readonly DeviceBuffer<int> _generators;
    private readonly DeviceBuffer<byte> _samplingScratch;

    /// <summary>Uploads the inputs, compresses X once and waits for the device.</summary>
    public GpuPammWorkload(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(stream);
        _rows = rows;
        _width = width;
        _stream = stream;
        long elements = (long)rows * width;
        _engine = new PammEngine(device, options, stream);
        _x = device.Allocate<T>(elements);
        _x.CopyFrom(HostData.SharedUniform<T>(elements, seed: 1), stream);
        // G's values do not change the work a product does, so the three gradients hold the same values.
        var gradient = HostData.SharedUniform<T>(elements, seed: 2);
        _gradients = [.. Enumerable.Range(0, 3).Select(_ => device.Allocate<T>(elements))];
        foreach (var buffer in _gradients)
            buffer.CopyFrom(gradient, stream);
        _outputs = [.. Enumerable.Range(0, 3).Select(_ => device.Allocate<T>((long)width * width))];
        _qkv = [.. Enumerable.Range(0, 3).Select(i => new BatchedProduct(_gradients[i].Address, width, _outputs[i].Address))];
        _compressed = _engine.Compress(_x, rows, width);
        // Sampling's output and scratch, allocated here so that its timing holds the kernels alone.
        _generators = device.Allocate<int>(_compressed.K);
        _samplingScratch = device.Allocate<byte>(Math.Max(1, PammKernels.SamplingScratchBytes(rows)));
        stream.Synchronize();
    }

    /// <inheritdoc/>
    public ICompressedActivation Compressed => _compressed;

    /// <inheritdoc/>
    public void SampleGenerators() =>
        PammKernels.SampleGenerators(_stream, _samplingScratch.Address, _rows, _compressed.K, _engine.Options.Seed, _generators.Address);

    /// <inheritdoc/>
    public IDisposable Compress() => _engine.Compress(_x, _rows, _width);

    /// <inheritdoc/>
    public IDisposable CompressRefined() => _engine.Compress(_x, _rows, _width, _engine.Options with { RefineGenerators = true });

    /// <inheritdoc/>
    public void ApproxMatmul() => _engine.ApproxMatmul(_compressed, _gradients[0], _width, _outputs[0]);

    /// <inheritdoc/>
    public IDisposable CompressAndQkv()
    {
        var compressed = _engine.Compress(_x, _rows, _width);
        for (int projection = 0; projection < 3; projection++)
            _engine.ApproxMatmul(compressed, _gradients[projection], _width, _outputs[projection]);
        return compressed;
    }

    /// <inheritdoc/>
    public IDisposable CompressAndQkvBatched()
    {
        var compressed = _engine.Compress(_x, _rows, _width);
        var dtype = DTypes.Of<T>();
        _engine.ApproxMatmulBatch(compressed, _qkv, dtype, dtype);
        return compressed;
    }

    /// <summary>Frees the compressed form, the buffers and the engine.</summary>
    public void Dispose()
    {
        _compressed.Dispose();
        _generators.Dispose();
        _samplingScratch.Dispose();
        foreach (var buffer in _outputs.Concat(_gradients).Append(_x))
            buffer.Dispose();
        _engine.Dispose();
    }
}
