using PammCuda.Devices;

namespace PammCuda.Tests.Support;

/// <summary>
/// CUDA stream capture's rules (global mode) as a stand-in around a real device: while <see cref="Capturing"/> is set,
/// every call that CUDA forbids during a capture is recorded in <see cref="Violations"/>: allocating or freeing device
/// memory, waiting for a stream, and copies between host memory and a stream. The work itself still runs at once (no
/// graph is recorded), so a test learns which calls a path makes, and can still check what the path computed. Streams
/// and buffers made through this device report to it.
/// </summary>
internal sealed class CaptureRulesDevice(IComputeDevice inner) : IComputeDevice
{
    private readonly List<string> _violations = [];

    /// <summary>Whether a capture is under way.</summary>
    public bool Capturing { get; set; }

    /// <summary>The forbidden calls made while <see cref="Capturing"/>, in order.</summary>
    public IReadOnlyList<string> Violations => _violations;

    public string Name => $"{inner.Name} under capture rules";

    public bool IsEmulated => inner.IsEmulated;

    public long TotalMemoryBytes => inner.TotalMemoryBytes;

    public IDeviceStream DefaultStream => new CaptureRulesStream(inner.DefaultStream, this);

    public IDeviceStream CreateStream(StreamPriority priority = StreamPriority.Normal) =>
        new CaptureRulesStream(inner.CreateStream(priority), this, owning: true);

    public IDeviceStream WrapStream(nint nativeStream) => new CaptureRulesStream(inner.WrapStream(nativeStream), this, owning: true);

    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged =>
        new(this, ((IComputeDevice)this).AllocateBytes(checked(length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>())), length, owning: true);

    public DeviceBuffer<T> View<T>(ulong address, long length) where T : unmanaged
    {
        inner.View<T>(address, length).Dispose(); // checks the range; a view frees nothing
        return new DeviceBuffer<T>(this, address, length, owning: false);
    }

    public DeviceKernel GetKernel(string name) => inner.GetKernel(name);

    ulong IComputeDevice.AllocateBytes(long bytes)
    {
        Check($"an allocation of {bytes} bytes");
        return inner.AllocateBytes(bytes);
    }

    void IComputeDevice.FreeBytes(ulong address)
    {
        Check($"freeing 0x{address:x}");
        inner.FreeBytes(address);
    }

    /// <summary>Leaves the inner device alone: it belongs to the fixture.</summary>
    public void Dispose()
    {
    }

    internal void Check(string call)
    {
        if (Capturing) _violations.Add(call);
    }
}

/// <summary>A stream of a <see cref="CaptureRulesDevice"/>: forwards everything, and reports waits and host copies to it.</summary>
internal sealed unsafe class CaptureRulesStream(IDeviceStream inner, CaptureRulesDevice device, bool owning = false) : IDeviceStream
{
    public IComputeDevice Device => device;

    public nint NativeHandle => inner.NativeHandle;

    public void CopyAsync(ulong destination, ulong source, long bytes) => inner.CopyAsync(destination, source, bytes);

    public void UploadAsync(ulong destination, void* source, long bytes)
    {
        device.Check($"a copy of {bytes} bytes from the host");
        inner.UploadAsync(destination, source, bytes);
    }

    public void DownloadAsync(void* destination, ulong source, long bytes)
    {
        device.Check($"a copy of {bytes} bytes to the host");
        inner.DownloadAsync(destination, source, bytes);
    }

    public void Fill32Async(ulong destination, uint value, long count) => inner.Fill32Async(destination, value, count);

    public void Fill8Async(ulong destination, byte value, long bytes) => inner.Fill8Async(destination, value, bytes);

    public void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments) =>
        inner.Launch(kernel, grid, block, dynamicSharedBytes, arguments);

    public void Gemm(in GemmDescriptor gemm) => inner.Gemm(gemm);

    public void Synchronize()
    {
        device.Check("waiting for the stream");
        inner.Synchronize();
    }

    public IDeviceEvent RecordEvent() => inner.RecordEvent();

    public void WaitFor(IDeviceEvent recorded) => inner.WaitFor(recorded);

    public void Dispose()
    {
        if (owning) inner.Dispose();
    }
}
