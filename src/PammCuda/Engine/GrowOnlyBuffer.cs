using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Scratch device memory that only grows: after the first calls of a given size, the engine allocates
/// nothing more in steady state. Growing waits for the stream first, because work already queued may
/// still read the old allocation.
/// </summary>
internal sealed class GrowOnlyBuffer(IComputeDevice device, IDeviceStream stream) : IDisposable
{
    // Rounds sizes up so that a sequence of slightly different shapes does not reallocate every time.
    private const long Granularity = 1 << 16;

    private DeviceBuffer<byte>? _buffer;

    /// <summary>The address of at least <paramref name="bytes"/> bytes of scratch.</summary>
    public ulong Ensure(long bytes)
    {
        if (_buffer is null || _buffer.Length < bytes)
        {
            if (_buffer is not null)
            {
                stream.Synchronize();
                _buffer.Dispose();
                _buffer = null;
            }
            long rounded = (Math.Max(bytes, 1) + Granularity - 1) / Granularity * Granularity;
            _buffer = device.Allocate<byte>(rounded);
        }
        return _buffer.Address;
    }

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
