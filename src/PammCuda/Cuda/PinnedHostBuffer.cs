using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// Page-locked host memory (<c>cuMemHostAlloc</c>): the source or destination of truly asynchronous copies,
/// which must stay valid until the copy completes.
/// </summary>
public sealed unsafe class PinnedHostBuffer<T> : IDisposable where T : unmanaged
{
    private readonly Owner _owner;

    internal PinnedHostBuffer(CudaContext context, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, int.MaxValue);
        using var current = context.Enter();
        void* pointer;
        CuDriver.cuMemHostAlloc(&pointer, (nuint)(length * sizeof(T)), 0).ThrowIfFailed();
        _owner = new Owner(context, pointer);
        Length = length;
    }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>The start of the memory.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public T* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_owner.IsFreed, this);
            return (T*)_owner.Memory;
        }
    }

    /// <summary>The memory as a span.</summary>
    public Span<T> Span => new(Pointer, (int)Length);

    /// <inheritdoc/>
    public void Dispose() => _owner.Dispose();

    private sealed class Owner(CudaContext context, void* memory) : ContextChild(context)
    {
        public void* Memory { get; } = memory;

        protected override void FreeNative() => _ = CuDriver.cuMemFreeHost(Memory);
    }
}
