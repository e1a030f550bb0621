namespace PammCuda.Devices;

/// <summary>
/// One device object per ordinal, shared by everyone in the process who asks for it and reference-counted: the first
/// <see cref="Acquire"/> of an ordinal opens the device, the last lease's <see cref="SharedDevice.Dispose"/> closes it.
/// Engines on many streams of one GPU then share one context, one set of loaded kernel modules (compiled and loaded
/// once) and one allocation table, instead of opening the device once each. Thread-safe.
/// </summary>
public sealed class SharedDeviceRegistry
{
    private readonly Func<int, IComputeDevice> _open;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, (IComputeDevice Device, int References)> _devices = [];

    /// <summary>A registry that opens devices with <paramref name="open"/> (given the ordinal).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="open"/> is null.</exception>
    public SharedDeviceRegistry(Func<int, IComputeDevice> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        _open = open;
    }

    /// <summary>Devices open now (ordinals with at least one lease).</summary>
    public int OpenDeviceCount
    {
        get
        {
            lock (_gate) return _devices.Count;
        }
    }

    /// <summary>Live leases of <paramref name="ordinal"/>'s device (0 when it is not open).</summary>
    public int ReferenceCount(int ordinal)
    {
        lock (_gate) return _devices.TryGetValue(ordinal, out var entry) ? entry.References : 0;
    }

    /// <summary>A lease on the device of <paramref name="ordinal"/>, opening it when nobody holds it.</summary>
    /// <exception cref="Exception">Whatever opening the device throws (nothing is registered then).</exception>
    public SharedDevice Acquire(int ordinal)
    {
        lock (_gate)
        {
            if (_devices.TryGetValue(ordinal, out var entry))
            {
                _devices[ordinal] = (entry.Device, entry.References + 1);
                return new SharedDevice(this, ordinal, entry.Device);
            }
            // Opened under the lock, so two first users of an ordinal never open it twice.
            var device = _open(ordinal);
            _devices[ordinal] = (device, 1);
            return new SharedDevice(this, ordinal, device);
        }
    }

    internal void Release(int ordinal)
    {
        IComputeDevice? closing = null;
        lock (_gate)
        {
            if (!_devices.TryGetValue(ordinal, out var entry)) return;
            if (entry.References > 1)
            {
                _devices[ordinal] = (entry.Device, entry.References - 1);
                return;
            }
            _devices.Remove(ordinal);
            closing = entry.Device;
        }
        closing.Dispose();
    }
}

/// <summary>A lease on a device of a <see cref="SharedDeviceRegistry"/>; disposing it gives the lease back (once).</summary>
public sealed class SharedDevice : IDisposable
{
    private readonly SharedDeviceRegistry _registry;
    private int _released;

    internal SharedDevice(SharedDeviceRegistry registry, int ordinal, IComputeDevice device)
    {
        _registry = registry;
        Ordinal = ordinal;
        Device = device;
    }

    /// <summary>The ordinal the device was opened for.</summary>
    public int Ordinal { get; }

    /// <summary>The shared device; do not dispose it (the registry does, with the last lease).</summary>
    public IComputeDevice Device { get; }

    /// <summary>Gives the lease back; the device closes when it was the last. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) _registry.Release(Ordinal);
    }
}
