namespace PammCuda.Devices;

/// <summary>
/// An ordered queue of device work. Everything is asynchronous with respect to the host unless the
/// method says otherwise; work on one stream runs in submission order.
/// </summary>
public interface IDeviceStream : IDisposable
{
    /// <summary>The device this stream belongs to.</summary>
    IComputeDevice Device { get; }

    /// <summary>The native handle (<c>CUstream</c>; 0 for the legacy default stream and on the emulated device).</summary>
    nint NativeHandle { get; }

    /// <summary>Device-to-device copy of <paramref name="bytes"/> bytes.</summary>
    void CopyAsync(ulong destination, ulong source, long bytes);

    /// <summary>Host-to-device copy. The host memory must stay valid until the copy completes (synchronize, or use pinned memory).</summary>
    unsafe void UploadAsync(ulong destination, void* source, long bytes);

    /// <summary>Device-to-host copy. The host memory must stay valid until the copy completes.</summary>
    unsafe void DownloadAsync(void* destination, ulong source, long bytes);

    /// <summary>Sets <paramref name="count"/> 32-bit words at <paramref name="destination"/> to <paramref name="value"/>.</summary>
    void Fill32Async(ulong destination, uint value, long count);

    /// <summary>Sets <paramref name="bytes"/> bytes to <paramref name="value"/>.</summary>
    void Fill8Async(ulong destination, byte value, long bytes);

    /// <summary>
    /// Launches a kernel. <paramref name="arguments"/> points to one pointer per kernel parameter, each
    /// pointing at that parameter's value (as <c>cuLaunchKernel</c> takes them); callers build it with
    /// <c>stackalloc</c>. Grid, block and shared-memory limits are checked before the launch.
    /// </summary>
    unsafe void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments);

    /// <summary>A column-major GEMM with cuBLAS semantics (see <see cref="GemmDescriptor"/>).</summary>
    void Gemm(in GemmDescriptor gemm);

    /// <summary>Blocks the host until all work submitted so far has finished; surfaces asynchronous errors.</summary>
    void Synchronize();

    /// <summary>Records a timing event at the current point of the stream.</summary>
    IDeviceEvent RecordEvent();

    /// <summary>
    /// Makes the work submitted to this stream from now on wait, on the device, until the work before
    /// <paramref name="recorded"/> has finished; the host does not wait. With <see cref="RecordEvent"/> on another stream of
    /// the same device, this forks work onto a second stream and joins it back, so that the two run side by side.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="recorded"/> is not an event of this stream's device.</exception>
    void WaitFor(IDeviceEvent recorded);
}

/// <summary>A point in a stream's work, for timing.</summary>
public interface IDeviceEvent : IDisposable
{
    /// <summary>Blocks until the work before the event has finished.</summary>
    void Synchronize();

    /// <summary>Milliseconds of device time from <paramref name="start"/> to this event (both must have completed).</summary>
    float ElapsedMillisecondsSince(IDeviceEvent start);
}
