using System.Runtime.InteropServices;
using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// An activation compressed on the device by a <see cref="PammEngine"/>: the generators C (k × n in X's dtype), the
/// assignment f (8 bits per row when k ≤ 256, 16 when k ≤ 65 536, else 32), the coefficients α (float32 or bfloat16 per row) and the dropped-row
/// count η (one int32), laid out in one storage block as <see cref="CompressedStorageLayout"/> says, and nothing else.
/// The block is the engine's (<see cref="PammEngine.Compress{T}(DeviceBuffer{T}, int, int)"/>) or the caller's
/// (<see cref="PammEngine.CompressInto(ulong, int, int, DType, PammOptions, ulong, long, ulong, long)"/>), in which case
/// this object only refers to it. Read-only and reusable for any number of products. Nothing here waits for the device
/// except the methods that say so (<see cref="ReadDroppedRows"/>, the copies to the host).
/// </summary>
public sealed class GpuCompressedActivation : ICompressedActivation, IDisposable
{
    private readonly DeviceBuffer<byte>? _ownedStorage;
    private readonly ulong _storage;
    private DeviceBuffer<byte>? _ownedPlan;
    private int? _droppedRows;
    private bool _disposed;

    internal GpuCompressedActivation(PammEngine engine, CompressedStorageLayout layout, ulong storage, DeviceBuffer<byte>? ownedStorage)
    {
        Engine = engine;
        Layout = layout;
        _storage = storage;
        _ownedStorage = ownedStorage;
    }

    /// <summary>The engine that made it. Products of that engine accept it; one in caller storage is also accepted by the other engines of the same device.</summary>
    public PammEngine Engine { get; }

    /// <summary>Where C, f, α and η lie in the storage block.</summary>
    public CompressedStorageLayout Layout { get; }

    /// <summary>True when the storage block is the engine's (freed, or given back for reuse, on <see cref="Dispose"/>); false when it is the caller's.</summary>
    public bool OwnsStorage => _ownedStorage is not null;

    /// <summary>
    /// True once the products of this compression share a plan (the rows grouped by generator): after the first product of
    /// an engine-owned compression, or after <see cref="PammEngine.PrepareProductsInto"/> for one in caller storage. Later
    /// products then skip the grouping.
    /// </summary>
    public bool HasProductPlan => Plan is not null;

    /// <summary>The plan the products share, or null before one is built.</summary>
    internal ProductPlan? Plan { get; private set; }

    /// <summary>Keeps <paramref name="plan"/> for every later product; <paramref name="ownedBlock"/> (the engine's) goes back with the storage on <see cref="Dispose"/>.</summary>
    internal void KeepPlan(ProductPlan plan, DeviceBuffer<byte>? ownedBlock)
    {
        Plan = plan;
        _ownedPlan = ownedBlock;
    }

    /// <summary>The device address of the storage block.</summary>
    /// <exception cref="ObjectDisposedException">The compressed activation was disposed.</exception>
    public ulong StorageAddress
    {
        get
        {
            ThrowIfDisposed();
            return _storage;
        }
    }

    /// <inheritdoc/>
    public int Rows => Layout.Rows;

    /// <inheritdoc/>
    public int Columns => Layout.Columns;

    /// <inheritdoc/>
    public int K => Layout.K;

    /// <inheritdoc/>
    public DType DType => Layout.DType;

    /// <summary>How many bits a row of f takes (8, 16 or 32).</summary>
    internal AssignmentWidth AssignmentWidth => AssignmentWidths.For(K);

    /// <inheritdoc/>
    public long StoredBytes => CompressedSize.StoredBytes(Rows, Columns, K, DType, AlphaType);

    /// <inheritdoc/>
    public DType AlphaType => Layout.AlphaType;

    /// <inheritdoc/>
    public long DenseBytes => CompressedSize.DenseBytes(Rows, Columns, DType);

    /// <inheritdoc/>
    public double CompressionRatio => (double)DenseBytes / StoredBytes;

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    internal ulong GeneratorsAddress => _storage + (ulong)Layout.GeneratorsOffset;

    internal ulong AssignmentAddress => _storage + (ulong)Layout.AssignmentOffset;

    internal ulong AlphaAddress => _storage + (ulong)Layout.AlphaOffset;

    internal ulong DroppedAddress => _storage + (ulong)Layout.DroppedOffset;

    /// <summary>
    /// η, copied from the device: <b>waits</b> for the engine's stream to finish the compression (once; the value is kept).
    /// Products never need it on the host: they apply β = b / (b − η) on the device.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The compressed activation was disposed.</exception>
    public unsafe int ReadDroppedRows()
    {
        ThrowIfDisposed();
        if (_droppedRows is int known) return known;
        int value;
        Engine.Stream.DownloadAsync(&value, DroppedAddress, sizeof(int));
        Engine.Stream.Synchronize();
        _droppedRows = value;
        return value;
    }

    /// <summary>η if <see cref="ReadDroppedRows"/> has read it already; never waits.</summary>
    public bool TryGetDroppedRows(out int droppedRows)
    {
        droppedRows = _droppedRows ?? -1;
        return _droppedRows.HasValue;
    }

    /// <summary>β = b / (b − η), from <see cref="ReadDroppedRows"/>: <b>waits</b> like it (products apply β on the device without this).</summary>
    /// <exception cref="ObjectDisposedException">The compressed activation or the engine that made it was disposed.</exception>
    public double ReadBeta() => CompressedSize.Beta(Rows, ReadDroppedRows());

    /// <summary>Copies the generators C (row-major k × n) to the host; waits for the stream.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not the element type of <see cref="DType"/>.</exception>
    public unsafe T[] CopyGenerators<T>() where T : unmanaged
    {
        ThrowIfDisposed();
        if (!DTypes.TryOf<T>(out var dtype) || dtype != DType)
            throw new ArgumentException($"The generators are {DType}; {typeof(T).Name} does not match.", nameof(T));
        var result = new T[checked((long)K * Columns)];
        fixed (T* target = result) Engine.Stream.DownloadAsync(target, GeneratorsAddress, Layout.GeneratorBytes);
        Engine.Stream.Synchronize();
        return result;
    }

    /// <summary>Copies f (one generator position per row) to the host, widened to int; waits for the stream.</summary>
    public unsafe int[] CopyAssignment()
    {
        ThrowIfDisposed();
        var result = new int[Rows];
        var stored = new byte[Layout.AssignmentBytes];
        fixed (byte* target = stored) Engine.Stream.DownloadAsync(target, AssignmentAddress, Layout.AssignmentBytes);
        Engine.Stream.Synchronize();
        switch (AssignmentWidth)
        {
            case AssignmentWidth.Byte: for (int i = 0; i < Rows; i++) result[i] = stored[i]; break;
            case AssignmentWidth.UInt16:
                ReadOnlySpan<ushort> compact = MemoryMarshal.Cast<byte, ushort>(stored);
                for (int i = 0; i < Rows; i++) result[i] = compact[i];
                break;
            default: MemoryMarshal.Cast<byte, int>(stored).CopyTo(result); break;
        }
        return result;
    }

    /// <summary>Copies α (one coefficient per row, widened to float32 when stored as bfloat16) to the host; waits for the stream.</summary>
    public unsafe float[] CopyAlpha()
    {
        ThrowIfDisposed();
        if (AlphaType == DType.BFloat16)
        {
            var stored = new BFloat16[Rows];
            fixed (BFloat16* target = stored) Engine.Stream.DownloadAsync(target, AlphaAddress, Layout.AlphaBytes);
            Engine.Stream.Synchronize();
            return [.. stored.Select(value => (float)value)];
        }
        var result = new float[Rows];
        fixed (float* target = result) Engine.Stream.DownloadAsync(target, AlphaAddress, Layout.AlphaBytes);
        Engine.Stream.Synchronize();
        return result;
    }

    int ICompressedActivation.ReadDroppedRows() => ReadDroppedRows();

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Ends this object without waiting for the device. The engine's own storage block (and plan block) goes back to the engine, which
    /// reuses it in stream order (products already queued still read it first); caller storage is left alone, and the
    /// caller keeps it alive until the stream has passed the products that read it.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownedStorage is not null) Engine.ReturnStorage(_ownedStorage);
        if (_ownedPlan is not null) Engine.ReturnStorage(_ownedPlan);
    }
}
