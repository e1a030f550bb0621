namespace PammCuda.Devices;

/// <summary>
/// A typed span of device memory: owned (allocated by <see cref="IComputeDevice.Allocate{T}"/>, freed on
/// <see cref="Dispose"/>) or a non-owning view over memory a framework owns.
/// </summary>
public sealed class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private readonly bool _owning;
    private ulong _address;

    internal DeviceBuffer(IComputeDevice device, ulong address, long length, bool owning)
    {
        Device = device;
        _address = address;
        Length = length;
        _owning = owning;
    }

    /// <summary>The device this memory lives on.</summary>
    public IComputeDevice Device { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Size in bytes.</summary>
    public unsafe long Bytes => Length * sizeof(T);

    /// <summary>False for a view over memory someone else owns.</summary>
    public bool IsOwning => _owning;

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _address == 0 && Length != 0;

    /// <summary>The device address of element 0.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public ulong Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _address;
        }
    }

    /// <summary>Copies <paramref name="source"/> into the start of the buffer and waits for the copy.</summary>
    public unsafe void CopyFrom(ReadOnlySpan<T> source, IDeviceStream? stream = null)
    {
        CheckFits(source.Length, nameof(source));
        var s = stream ?? Device.DefaultStream;
        fixed (T* p = source) s.UploadAsync(Address, p, (long)source.Length * sizeof(T));
        s.Synchronize();
    }

    /// <summary>Copies the start of the buffer into <paramref name="destination"/> and waits for the copy.</summary>
    public unsafe void CopyTo(Span<T> destination, IDeviceStream? stream = null)
    {
        CheckFits(destination.Length, nameof(destination));
        var s = stream ?? Device.DefaultStream;
        fixed (T* p = destination) s.DownloadAsync(p, Address, (long)destination.Length * sizeof(T));
        s.Synchronize();
    }

    /// <summary>Copies the whole buffer to a new array.</summary>
    public T[] ToArray(IDeviceStream? stream = null)
    {
        var result = new T[checked((int)Length)];
        CopyTo(result, stream);
        return result;
    }

    /// <summary>Asynchronous device-to-device copy of this whole buffer into <paramref name="destination"/>.</summary>
    public unsafe void CopyToAsync(DeviceBuffer<T> destination, IDeviceStream stream)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(stream);
        if (destination.Length < Length)
            throw new ArgumentException($"Destination holds {destination.Length} elements; {Length} are needed.", nameof(destination));
        stream.CopyAsync(destination.Address, Address, Bytes);
    }

    private void CheckFits(int count, string argument)
    {
        if (count > Length)
            throw new ArgumentException($"{count} elements do not fit in a device buffer of {Length}.", argument);
    }

    /// <summary>Frees owned memory (views free nothing). Safe to call twice.</summary>
    public void Dispose()
    {
        if (_address == 0) return;
        if (_owning) Device.FreeBytes(_address);
        _address = 0;
    }

    /// <inheritdoc/>
    public override string ToString() => $"DeviceBuffer<{typeof(T).Name}>[{Length}] at 0x{_address:x} on {Device.Name}";
}
