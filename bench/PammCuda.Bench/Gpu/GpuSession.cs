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

    /// <summary>The device of the running suite.</summary>
    /// <exception cref="InvalidOperationException">No suite is running.</exception>
    public static IComputeDevice Device => _device ?? throw new InvalidOperationException("No GPU session is open.");

    /// <summary>The stream all benchmarks queue work on and record events on.</summary>
    /// <exception cref="InvalidOperationException">No suite is running.</exception>
    public static IDeviceStream Stream => _stream ?? throw new InvalidOperationException("No GPU session is open.");

    /// <summary>Starts a session on <paramref name="device"/> with a stream of its own; the session owns neither after <see cref="Close"/>.</summary>
    public static void Open(IComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_device is not null)
            throw new InvalidOperationException("A GPU session is already open.");
        _device = device;
        _stream = device.CreateStream();
    }

    /// <summary>Frees the session's stream; the caller disposes the device.</summary>
    public static void Close()
    {
        _stream?.Dispose();
        _stream = null;
        _device = null;
    }
}
