using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>
/// What a <c>pamm_engine</c> handle stands for: a lease on the process's shared device of its ordinal (one context and
/// one set of loaded kernels per GPU, however many engines), the caller's stream wrapped, and the engine on them.
/// </summary>
internal sealed class EngineHandle : IDisposable
{
    private readonly SharedDevice _device;
    private readonly IDeviceStream _stream;

    /// <summary>Leases device <paramref name="ordinal"/> and wraps <paramref name="stream"/>, which the caller keeps owning.</summary>
    public EngineHandle(int ordinal, nint stream, PammOptions options)
    {
        _device = CudaComputeDevice.Shared.Acquire(ordinal);
        try
        {
            _stream = _device.Device.WrapStream(stream);
            Engine = new PammEngine(_device.Device, options, _stream);
        }
        catch
        {
            _stream?.Dispose();
            _device.Dispose();
            throw;
        }
    }

    public PammEngine Engine { get; }

    /// <summary>Frees the engine, then the stream wrapper (not the caller's stream), then gives the device lease back.</summary>
    public void Dispose()
    {
        Engine.Dispose();
        _stream.Dispose();
        _device.Dispose();
    }
}
