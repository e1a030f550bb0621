using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Storage blocks of the compressed activations an engine allocates itself, recycled in the engine's stream order:
/// a disposed activation gives its block back without waiting for the device, and the next compression of the same
/// size takes it again. That is safe because every use of a block (the products that read it, the compression that
/// rewrites it) is queued on the one stream of the engine, so the device runs them in order. Blocks are freed when the
/// engine is (freeing device memory waits for the device, which a training step must not do).
/// </summary>
internal sealed class CompressedStoragePool(IComputeDevice device) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Stack<DeviceBuffer<byte>>> _free = [];
    private bool _disposed;

    /// <summary>Blocks held for reuse.</summary>
    public int FreeBlocks
    {
        get
        {
            lock (_gate) return _free.Values.Sum(blocks => blocks.Count);
        }
    }

    /// <summary>A block of exactly <paramref name="bytes"/> bytes: a returned one when there is one, else a new allocation.</summary>
    public DeviceBuffer<byte> Rent(long bytes)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(bytes, out var blocks) && blocks.Count > 0) return blocks.Pop();
        }
        return device.Allocate<byte>(bytes);
    }

    /// <summary>Takes a block back for reuse, or frees it when the pool is gone. Never waits for the device while the pool lives; never throws.</summary>
    public void Return(DeviceBuffer<byte> block)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                if (!_free.TryGetValue(block.Length, out var blocks)) _free[block.Length] = blocks = new Stack<DeviceBuffer<byte>>();
                blocks.Push(block);
                return;
            }
        }
        block.Dispose();
    }

    /// <summary>Frees every block held for reuse; blocks still rented are freed when they come back.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var block in _free.Values.SelectMany(blocks => blocks)) block.Dispose();
            _free.Clear();
        }
    }
}
