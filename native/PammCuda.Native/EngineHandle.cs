using PammCuda.Cuda;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>What a <c>pamm_engine</c> handle stands for: a device opened for the caller, its stream wrapped, and the engine on them.</summary>
internal sealed class EngineHandle : IDisposable
{
    private readonly CudaComputeDevice _device;
    private readonly Devices.IDeviceStream _stream;

    /// <summary>Opens device <paramref name="ordinal"/> and wraps <paramref name="stream"/>, which the caller keeps owning.</summary>
    public EngineHandle(int ordinal, nint stream, PammOptions options)
    {
        _device = new CudaComputeDevice(ordinal);
        try
        {
            _stream = _device.WrapStream(stream);
            Engine = new PammEngine(_device, options, _stream);
        }
        catch
        {
            _stream?.Dispose();
            _device.Dispose();
            throw;
        }
    }

    public PammEngine Engine { get; }

    /// <summary>Frees the engine, then the stream wrapper (not the caller's stream), then the device.</summary>
    public void Dispose()
    {
        Engine.Dispose();
        _stream.Dispose();
        _device.Dispose();
    }
}
