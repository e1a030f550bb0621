using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>A CUDA event recorded on a stream, for timing and waiting.</summary>
public sealed unsafe class CudaEvent : IDeviceEvent
{
    private readonly Owner _owner;

    internal CudaEvent(CudaContext context)
    {
        using var current = context.Enter();
        CuEventHandle handle;
        CuDriver.cuEventCreate(&handle, 0).ThrowIfFailed();
        _owner = new Owner(context, handle);
    }

    internal CuEventHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_owner.IsFreed, this);
            return _owner.Event;
        }
    }

    internal bool BelongsTo(CudaContext context) => _owner.Context == context;

    internal void Record(CuStreamHandle stream)
    {
        using var current = Enter(out var handle);
        CuDriver.cuEventRecord(handle, stream).ThrowIfFailed();
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        using var current = Enter(out var handle);
        CuDriver.cuEventSynchronize(handle).ThrowIfFailed();
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="start"/> is not an event of the same CUDA context.</exception>
    public float ElapsedMillisecondsSince(IDeviceEvent start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start is not CudaEvent other || !other.BelongsTo(_owner.Context))
            throw new ArgumentException("The start event must be a CUDA event of the same device.", nameof(start));
        using var current = Enter(out var end);
        float milliseconds;
        CuDriver.EventElapsedTime(&milliseconds, other.Handle, end).ThrowIfFailed();
        return milliseconds;
    }

    private ContextScope Enter(out CuEventHandle handle)
    {
        handle = Handle;
        return _owner.Context.Enter();
    }

    /// <inheritdoc/>
    public void Dispose() => _owner.Dispose();

    private sealed class Owner(CudaContext context, CuEventHandle handle) : ContextChild(context)
    {
        public CuEventHandle Event { get; } = handle;

        protected override void FreeNative() => _ = CuDriver.cuEventDestroy_v2(Event);
    }
}
