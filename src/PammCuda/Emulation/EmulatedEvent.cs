using System.Diagnostics;
using PammCuda.Devices;

namespace PammCuda.Emulation;

/// <summary>A timing event of the emulated device: the host time at which the work before it had finished.</summary>
internal sealed class EmulatedEvent(long timestamp) : IDeviceEvent
{
    private bool _disposed;

    /// <inheritdoc/>
    public void Synchronize() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <inheritdoc/>
    public float ElapsedMillisecondsSince(IDeviceEvent start)
    {
        ArgumentNullException.ThrowIfNull(start);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start is not EmulatedEvent begin)
            throw new ArgumentException("The start event belongs to another kind of device.", nameof(start));
        ObjectDisposedException.ThrowIf(begin._disposed, begin);
        return (float)Stopwatch.GetElapsedTime(begin.Timestamp, timestamp).TotalMilliseconds;
    }

    private long Timestamp => timestamp;

    /// <inheritdoc/>
    public void Dispose() => _disposed = true;
}
