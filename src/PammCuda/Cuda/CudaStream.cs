using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// A CUDA stream: one this library created and destroys, or a wrapper around a framework's stream (or the legacy
/// default stream, handle 0) that it never destroys. Every call makes the context current on the calling thread.
/// </summary>
public sealed unsafe class CudaStream : IDeviceStream
{
    private readonly CudaComputeDevice _device;
    private readonly CuStreamHandle _handle;
    private readonly Owner? _owner;
    private readonly Lock _blasGate = new();
    private CudaBlasHandle? _blas;
    private bool _disposed;

    private CudaStream(CudaComputeDevice device, CuStreamHandle handle, Owner? owner)
    {
        _device = device;
        _handle = handle;
        _owner = owner;
    }

    internal static CudaStream Create(CudaComputeDevice device, StreamPriority priority)
    {
        StreamPriorityCheck.ThrowIfUndefined(priority);
        using var current = device.Context.Enter();
        // CUDA's priorities count down: the greatest priority is the smallest number, 0 the default (least).
        int least = 0, greatest = 0;
        if (priority == StreamPriority.High) CuDriver.cuCtxGetStreamPriorityRange(&least, &greatest).ThrowIfFailed();
        CuStreamHandle handle;
        // Flags 0: the stream orders itself after the legacy default stream, which DefaultStream uses.
        CuDriver.cuStreamCreateWithPriority(&handle, 0, priority == StreamPriority.High ? greatest : 0).ThrowIfFailed();
        return new CudaStream(device, handle, new Owner(device.Context, handle));
    }

    /// <summary>The stream's priority as CUDA numbers it (smaller is higher; 0 is the default), for tests.</summary>
    internal int NativePriority
    {
        get
        {
            using var current = Enter(out var stream);
            int priority;
            CuDriver.cuStreamGetPriority(stream, &priority).ThrowIfFailed();
            return priority;
        }
    }

    internal static CudaStream Wrap(CudaComputeDevice device, nint nativeStream) => new(device, new CuStreamHandle(nativeStream), null);

    /// <inheritdoc/>
    public IComputeDevice Device => _device;

    /// <inheritdoc/>
    public nint NativeHandle => _handle.Value;

    /// <summary>False for a wrapper around a stream someone else owns.</summary>
    public bool IsOwning => _owner is not null;

    /// <inheritdoc/>
    public void CopyAsync(ulong destination, ulong source, long bytes)
    {
        if (!CheckTransfer(destination != 0, source != 0, bytes)) return;
        using var current = Enter(out var stream);
        CuDriver.cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void UploadAsync(ulong destination, void* source, long bytes)
    {
        if (!CheckTransfer(destination != 0, source != null, bytes)) return;
        using var current = Enter(out var stream);
        CuDriver.cuMemcpyHtoDAsync_v2(destination, source, (nuint)bytes, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void DownloadAsync(void* destination, ulong source, long bytes)
    {
        if (!CheckTransfer(destination != null, source != 0, bytes)) return;
        using var current = Enter(out var stream);
        CuDriver.cuMemcpyDtoHAsync_v2(destination, source, (nuint)bytes, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void Fill32Async(ulong destination, uint value, long count)
    {
        if (!CheckTransfer(destination != 0, true, count, nameof(count))) return;
        using var current = Enter(out var stream);
        CuDriver.cuMemsetD32Async(destination, value, (nuint)count, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void Fill8Async(ulong destination, byte value, long bytes)
    {
        if (!CheckTransfer(destination != 0, true, bytes)) return;
        using var current = Enter(out var stream);
        CuDriver.cuMemsetD8Async(destination, value, (nuint)bytes, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments)
    {
        var function = _device.PrepareLaunch(kernel, grid, block, dynamicSharedBytes);
        using var current = Enter(out var stream);
        CuDriver.cuLaunchKernel(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z,
            (uint)dynamicSharedBytes, stream, arguments, null).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void Gemm(in GemmDescriptor gemm)
    {
        GemmValidation.Validate(gemm, nameof(gemm));
        if (gemm.M == 0 || gemm.N == 0) return;
        var stream = Handle();
        Blas().Gemm(stream, gemm);
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        using var current = Enter(out var stream);
        CuDriver.cuStreamSynchronize(stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public IDeviceEvent RecordEvent()
    {
        using var current = Enter(out var stream);
        var recorded = new CudaEvent(_device.Context);
        try
        {
            recorded.Record(stream);
            return recorded;
        }
        catch
        {
            recorded.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void WaitFor(IDeviceEvent recorded)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        if (recorded is not CudaEvent cudaEvent || !cudaEvent.BelongsTo(_device.Context))
            throw new ArgumentException("The event must be a CUDA event of this stream's device.", nameof(recorded));
        using var current = Enter(out var stream);
        CuDriver.cuStreamWaitEvent(stream, cudaEvent.Handle, 0).ThrowIfFailed();
    }

    /// <summary>Destroys an owned stream (after a cuBLAS handle of its own, if it has one); a wrapper only becomes unusable.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _blas?.Dispose();
        _owner?.Dispose();
    }

    /// <summary>The stream's handle, with its context current until the returned scope is disposed.</summary>
    private ContextScope Enter(out CuStreamHandle stream)
    {
        stream = Handle();
        return _device.Context.Enter();
    }

    private CuStreamHandle Handle()
    {
        ObjectDisposedException.ThrowIf(_disposed || (_owner?.IsFreed ?? false), this);
        return _handle;
    }

    // The device's handle where it serves every stream, else one of this stream's own (cuBLAS before 12.2, whose default
    // workspace belongs to the handle). The handle makes the context current itself, when it is created and at every GEMM.
    private CudaBlasHandle Blas()
    {
        var shared = _device.Blas;
        if (shared.ServesEveryStream) return shared;
        lock (_blasGate)
            return _blas ??= new CudaBlasHandle(_device.Context);
    }

    /// <summary>Validates a transfer's arguments; false when there is nothing to do.</summary>
    private static bool CheckTransfer(bool destinationSet, bool sourceSet, long count, string countName = "bytes")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count, countName);
        if (count == 0) return false;
        if (!destinationSet) throw new ArgumentException("The destination address is null.", "destination");
        if (!sourceSet) throw new ArgumentException("The source address is null.", "source");
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"CUDA stream 0x{_handle.Value:x}{(IsOwning ? "" : " (wrapped)")} on {_device.Name}";

    private sealed class Owner(CudaContext context, CuStreamHandle handle) : ContextChild(context)
    {
        protected override void FreeNative() => _ = CuDriver.cuStreamDestroy_v2(handle);
    }
}
