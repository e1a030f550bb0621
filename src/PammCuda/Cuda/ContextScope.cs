using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// A <see cref="CudaContext"/> made current on the calling thread for one operation; disposing it makes the caller's
/// context current again. The library is called from threads that other CUDA code owns (PyTorch keeps its current
/// device there): an operation on a tensor of GPU 1 must not move the caller's next allocation to GPU 1, nor leave a
/// context current on a thread that had none. When the context is already current, nothing is changed or restored.
/// </summary>
internal readonly unsafe ref struct ContextScope
{
    private readonly CuContextHandle _previous;
    private readonly bool _restore;

    private ContextScope(CuContextHandle previous)
    {
        _previous = previous;
        _restore = true;
    }

    /// <summary>Makes <paramref name="context"/> current until the scope is disposed.</summary>
    internal static ContextScope Enter(CuContextHandle context)
    {
        CuContextHandle current;
        CuDriver.cuCtxGetCurrent(&current).ThrowIfFailed();
        if (current == context) return default;
        CuDriver.cuCtxSetCurrent(context).ThrowIfFailed();
        return new ContextScope(current);
    }

    /// <summary><see cref="Enter"/> for paths that must not throw (frees, finalizers): false when it could not.</summary>
    internal static bool TryEnter(CuContextHandle context, out ContextScope scope)
    {
        scope = default;
        CuContextHandle current;
        if (CuDriver.cuCtxGetCurrent(&current) != CuResult.Success) return false;
        if (current == context) return true;
        if (CuDriver.cuCtxSetCurrent(context) != CuResult.Success) return false;
        scope = new ContextScope(current);
        return true;
    }

    /// <summary>Makes the caller's context current again (none, if it had none).</summary>
    public void Dispose()
    {
        // Best effort: this runs in finally blocks, where a throw would hide the operation's own error.
        if (_restore) _ = CuDriver.cuCtxSetCurrent(_previous);
    }
}
