using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// The lifetime of one native object that belongs to a <see cref="CudaContext"/> (stream, event, module, host
/// allocation, cuBLAS handle). The context frees it with the context current, in reverse order of creation,
/// when it is disposed itself; freed early, it is freed under the context's lock. A leaked child's finalizer
/// frees it only while the context is alive and never throws.
/// </summary>
internal abstract class ContextChild : IDisposable
{
    private bool _freed;

    protected ContextChild(CudaContext context)
    {
        Context = context;
        Id = context.Adopt(this);
    }

    public CudaContext Context { get; }

    /// <summary>Creation order within the context.</summary>
    public long Id { get; }

    /// <summary>True once freed, by <see cref="Dispose"/> or by the context.</summary>
    public bool IsFreed => Volatile.Read(ref _freed);

    /// <summary>Frees the native object; called once, with the context current and its lock held.</summary>
    protected abstract void FreeNative();

    /// <summary>Frees now (a no-op when already freed or when the context is gone).</summary>
    public void Dispose()
    {
        Context.Release(this);
        GC.SuppressFinalize(this);
    }

    /// <summary>Called by the context, under its lock.</summary>
    internal void FreeLocked()
    {
        if (_freed) return;
        Volatile.Write(ref _freed, true);
        // A free fails only after a sticky error (e.g. an illegal address) that the next synchronising call
        // reports; throwing here would hide that error behind a secondary one, so the status is not checked.
        FreeNative();
    }

    ~ContextChild()
    {
        Context.ReleaseFromFinalizer(this);
    }
}
