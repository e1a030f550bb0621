using PammCuda.Devices;

namespace PammCuda.Engine;

// The argument checks every entry point makes before it queues any work, each naming the argument it refuses.
public sealed partial class PammEngine
{
    private void CheckCompressed(GpuCompressedActivation compressed)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        compressed.ThrowIfDisposed();
        if (ReferenceEquals(compressed.Engine, this)) return;
        // The engine's own storage is recycled in its stream's order, so only that stream may read it; caller storage may
        // be read on any stream of the device, with the caller ordering the streams (as a framework does across streams).
        if (compressed.OwnsStorage)
            throw new ArgumentException("The compressed activation was made by another engine, in that engine's storage.", nameof(compressed));
        if (!ReferenceEquals(compressed.Engine.Device, Device))
            throw new ArgumentException($"The compressed activation lives on {compressed.Engine.Device.Name}, not on the engine's device {Device.Name}.", nameof(compressed));
    }

    /// <summary>Checks a caller's storage or workspace block: non-null (unless optional and absent), aligned and large enough.</summary>
    private static void CheckCallerBlock(ulong address, long bytes, long needed, string name, string sizeFunction, bool optional)
    {
        if (optional && address == 0 && bytes == 0) return;
        if (address == 0)
            throw new ArgumentException($"{name} is a null pointer{(optional ? $" but {name}Bytes is {bytes} (give both, or 0 and 0 for the engine's own)" : "")}.", name);
        if (address % CompressedStorageLayout.StorageAlignment != 0)
            throw new ArgumentException($"{name} at 0x{address:x} is not aligned to {CompressedStorageLayout.StorageAlignment} bytes.", name);
        if (bytes < needed)
            throw new ArgumentException($"{name} holds {bytes} bytes; these shapes need {needed} ({sizeFunction}).", name);
    }

    private static void CheckSizes(int rows, int columns, int k)
    {
        CheckShape(rows, columns);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}] (the number of rows).");
    }

    private void CheckBuffer<T>(DeviceBuffer<T> buffer, long needed, string name) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (!ReferenceEquals(buffer.Device, Device))
            throw new ArgumentException($"{name} lives on {buffer.Device.Name}, not on the engine's device {Device.Name}.", name);
        if (buffer.Length < needed)
            throw new ArgumentException($"{name} holds {buffer.Length} elements; the shapes need {needed}.", name);
    }

    private static DType DTypeOf<T>(string name) where T : unmanaged =>
        DTypes.TryOf<T>(out var dtype)
            ? dtype
            : throw new ArgumentException($"{name} has element type {typeof(T).Name}; use float, Half or BFloat16.", name);

    private static void CheckDType(DType dtype, string name)
    {
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(name, dtype, "Unknown dtype.");
    }

    private static void CheckLayout(ProductLayout layout)
    {
        if (!Enum.IsDefined(layout)) throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown product layout.");
    }

    private static void CheckPointer(ulong address, string name)
    {
        if (address == 0) throw new ArgumentException("The device pointer is null.", name);
    }

    private static void CheckShape(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
    }
}
