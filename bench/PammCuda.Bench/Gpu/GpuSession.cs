using PammCuda.Devices;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// The device and stream every GPU benchmark uses. The program opens them before BenchmarkDotNet starts and closes
/// them after; static because BenchmarkDotNet creates the benchmark objects, in this process.
/// </summary>
public static class GpuSession
{
    private static IComputeDevice? _device;
    private static IDeviceStream? _stream;
    private static int _queued = 1;

    /// <summary>The device of the running suite.</summary>
    /// <exception cref="InvalidOperationException">No suite is running.</exception>
    public static IComputeDevice Device => _device ?? throw new InvalidOperationException("No GPU session is open.");

    /// <summary>The stream all benchmarks queue work on and record events on.</summary>
    /// <exception cref="InvalidOperationException">No suite is running.</exception>
    public static IDeviceStream Stream => _stream ?? throw new InvalidOperationException("No GPU session is open.");

    /// <summary>
    /// Starts a session on <paramref name="device"/> with a stream of its own, whose timers queue
    /// <paramref name="queued"/> invocations a timed span (<see cref="DeviceTimer"/>); the session owns neither after
    /// <see cref="Close"/>.
    /// </summary>
    public static void Open(IComputeDevice device, int queued = 1)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfLessThan(queued, 1);
        if (_device is not null)
            throw new InvalidOperationException("A GPU session is already open.");
        _device = device;
        _stream = device.CreateStream();
        _queued = queued;
    }

    /// <summary>A timer on the session's stream that queues the session's invocations a span.</summary>
    /// <exception cref="InvalidOperationException">No suite is running.</exception>
    public static DeviceTimer CreateTimer() => new(Stream, _queued);

    /// <summary>Frees the session's stream; the caller disposes the device.</summary>
    public static void Close()
    {
        _stream?.Dispose();
        _stream = null;
        _device = null;
        _queued = 1;
    }
}
