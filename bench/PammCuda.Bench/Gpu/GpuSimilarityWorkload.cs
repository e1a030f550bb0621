using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>Random X (b × n) of <typeparamref name="T"/> in device memory and one engine per similarity path, with the same options.</summary>
public sealed class GpuSimilarityWorkload<T> : IGpuSimilarityWorkload where T : unmanaged
{
    private readonly int _rows;
    private readonly int _width;
    private readonly DeviceBuffer<T> _x;
    private readonly PammEngine _gemm;
    private readonly PammEngine _fused;

    /// <summary>Uploads X, compresses it once on each path (which compiles the kernels) and waits for the device.</summary>
    public GpuSimilarityWorkload(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(stream);
        _rows = rows;
        _width = width;
        long elements = (long)rows * width;
        _x = device.Allocate<T>(elements);
        _x.CopyFrom(HostData.SharedUniform<T>(elements, seed: 1), stream);
        _gemm = new PammEngine(device, options, stream) { SimilarityPath = SimilarityPath.Gemm };
        _fused = new PammEngine(device, options, stream) { SimilarityPath = SimilarityPath.Fused };
        CompressGemm().Dispose();
        CompressFused().Dispose();
        stream.Synchronize();
    }

    /// <inheritdoc/>
    public GpuCompressedActivation CompressGemm() => _gemm.Compress(_x, _rows, _width);

    /// <inheritdoc/>
    public GpuCompressedActivation CompressFused() => _fused.Compress(_x, _rows, _width);

    /// <summary>Frees X and both engines.</summary>
    public void Dispose()
    {
        _x.Dispose();
        _gemm.Dispose();
        _fused.Dispose();
    }
}
