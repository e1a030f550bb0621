using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// The primary context of a <see cref="CudaDevice"/> (the one the CUDA runtime and frameworks such as PyTorch
/// use, so their pointers and streams are valid here), retained for as long as this object lives. It owns every
/// device allocation and native object made through it and frees them, with itself current, when disposed.
/// </summary>
internal sealed unsafe class CudaContext : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, WeakReference<ContextChild>> _children = [];
    private readonly Dictionary<ulong, long> _allocations = [];
    private long _nextChildId;
    private bool _disposed;

    internal CudaContext(CudaDevice device)
    {
        Device = device;
        CuContextHandle handle;
        CuDriver.cuDevicePrimaryCtxRetain(&handle, device.Handle).ThrowIfFailed();
        Handle = handle;
    }

    /// <summary>The device this is the primary context of.</summary>
    public CudaDevice Device { get; }

    /// <summary>True once disposed; every object made through it is then freed and unusable.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed);

    internal CuContextHandle Handle { get; }

    /// <summary>
    /// Makes this context current on the calling thread until the returned scope is disposed, which restores the
    /// caller's; every operation runs inside one.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The context was disposed.</exception>
    internal ContextScope Enter()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return ContextScope.Enter(Handle);
    }

    /// <summary>Blocks until all work in the context has finished; surfaces asynchronous errors.</summary>
    public void Synchronize()
    {
        using var current = Enter();
        CuDriver.cuCtxSynchronize().ThrowIfFailed();
    }

    /// <summary>Allocates device memory owned by the context.</summary>
    internal ulong Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        lock (_gate)
        {
            using var current = Enter();
            ulong address;
            CuDriver.cuMemAlloc_v2(&address, (nuint)bytes).ThrowIfFailed();
            _allocations.Add(address, bytes);
            return address;
        }
    }

    /// <summary>Frees what <see cref="Allocate"/> returned; nothing when the context is gone or the address unknown. Never throws.</summary>
    internal void Free(ulong address)
    {
        lock (_gate)
        {
            if (_disposed || !_allocations.Remove(address)) return;
            if (!ContextScope.TryEnter(Handle, out var current)) return;
            using (current) _ = CuDriver.cuMemFree_v2(address);
        }
    }

    internal long Adopt(ContextChild child)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long id = _nextChildId++;
            _children.Add(id, new WeakReference<ContextChild>(child));
            return id;
        }
    }

    internal void Release(ContextChild child)
    {
        lock (_gate)
        {
            _children.Remove(child.Id);
            if (_disposed || child.IsFreed) return;
            if (!ContextScope.TryEnter(Handle, out var current)) return;
            using (current) child.FreeLocked();
        }
    }

    internal void ReleaseFromFinalizer(ContextChild child)
    {
        try
        {
            Release(child);
        }
#pragma warning disable CA1031 // A finalizer must never throw: the process would die for a leaked handle.
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }

    /// <summary>Frees every child (newest first) and every allocation, then releases the primary context.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            if (ContextScope.TryEnter(Handle, out var current))
            {
                using (current)
                {
                    // Work still queued may use what is about to be freed.
                    _ = CuDriver.cuCtxSynchronize();
                    foreach (var reference in _children.Values.Reverse())
                        if (reference.TryGetTarget(out var child)) child.FreeLocked();
                    foreach (var address in _allocations.Keys) _ = CuDriver.cuMemFree_v2(address);
                }
            }
            _children.Clear();
            _allocations.Clear();
            Volatile.Write(ref _disposed, true);
            _ = CuDriver.cuDevicePrimaryCtxRelease_v2(Device.Handle);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"primary context of {Device}";
}
