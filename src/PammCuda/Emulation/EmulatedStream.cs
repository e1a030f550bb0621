using System.Diagnostics;
using PammCuda.Devices;

namespace PammCuda.Emulation;

/// <summary>
/// A stream of the emulated device. A stream is an ordered queue; this one runs each piece of work on the
/// host as it is submitted, which keeps the ordering guarantee (work completes in submission order, and
/// before <see cref="Synchronize"/> returns) while errors surface at the call that caused them.
/// </summary>
internal sealed unsafe class EmulatedStream(EmulatedComputeDevice device, nint nativeHandle, bool ownedByDevice) : IDeviceStream
{
    private bool _disposed;

    /// <inheritdoc/>
    public IComputeDevice Device => device;

    /// <inheritdoc/>
    public nint NativeHandle => nativeHandle;

    /// <inheritdoc/>
    public void CopyAsync(ulong destination, ulong source, long bytes)
    {
        ThrowIfUnusable();
        device.CheckRange(destination, bytes, nameof(destination));
        device.CheckRange(source, bytes, nameof(source));
        Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);
    }

    /// <inheritdoc/>
    public void UploadAsync(ulong destination, void* source, long bytes)
    {
        ThrowIfUnusable();
        device.CheckRange(destination, bytes, nameof(destination));
        if (source == null && bytes > 0) throw new ArgumentNullException(nameof(source));
        Buffer.MemoryCopy(source, (void*)destination, bytes, bytes);
    }

    /// <inheritdoc/>
    public void DownloadAsync(void* destination, ulong source, long bytes)
    {
        ThrowIfUnusable();
        device.CheckRange(source, bytes, nameof(source));
        if (destination == null && bytes > 0) throw new ArgumentNullException(nameof(destination));
        Buffer.MemoryCopy((void*)source, destination, bytes, bytes);
    }

    /// <inheritdoc/>
    public void Fill32Async(ulong destination, uint value, long count)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        device.CheckRange(destination, checked(count * sizeof(uint)), nameof(destination));
        for (long offset = 0; offset < count; offset += int.MaxValue)
            new Span<uint>((uint*)destination + offset, (int)Math.Min(int.MaxValue, count - offset)).Fill(value);
    }

    /// <inheritdoc/>
    public void Fill8Async(ulong destination, byte value, long bytes)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        device.CheckRange(destination, bytes, nameof(destination));
        GuardedMemory.FillBytes((byte*)destination, bytes, value);
    }

    /// <inheritdoc/>
    public void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments)
    {
        ThrowIfUnusable();
        device.Launch(kernel, grid, block, dynamicSharedBytes, arguments);
    }

    /// <inheritdoc/>
    public void Gemm(in GemmDescriptor gemm)
    {
        ThrowIfUnusable();
        device.Gemm(gemm);
    }

    /// <inheritdoc/>
    public void Synchronize() => ThrowIfUnusable();

    /// <inheritdoc/>
    public IDeviceEvent RecordEvent()
    {
        ThrowIfUnusable();
        return new EmulatedEvent(Stopwatch.GetTimestamp());
    }

    /// <summary>Work runs as it is submitted, so the work before any event of this device has finished: nothing to wait for.</summary>
    public void WaitFor(IDeviceEvent recorded)
    {
        ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(recorded);
        if (recorded is not EmulatedEvent) throw new ArgumentException("The event must be an event of the emulated device.", nameof(recorded));
        recorded.Synchronize(); // a disposed event is refused, as CUDA refuses a destroyed one
    }

    /// <summary>Disposing the device's default stream does nothing: the device owns it.</summary>
    public void Dispose()
    {
        if (!ownedByDevice) _disposed = true;
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        device.ThrowIfDisposed();
    }
}
