using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// An activation compressed on the device by a <see cref="PammEngine"/>: the generators C (k × n in
/// X's dtype), the assignment f (16 bits per row when k ≤ 65 536, else 32), the coefficients α
/// (float32 per row) and the dropped-row count η (one int32), and nothing else. Read-only and
/// reusable for any number of products of the engine that made it.
/// </summary>
public sealed class GpuCompressedActivation : ICompressedActivation, IDisposable
{
    private readonly DeviceBuffer<byte> _generators;
    private readonly DeviceBuffer<byte> _assignment;
    private readonly DeviceBuffer<float> _alpha;
    private readonly DeviceBuffer<int> _dropped;
    private int? _droppedRows;
    private bool _disposed;

    internal GpuCompressedActivation(PammEngine engine, int rows, int columns, int k, DType dtype)
    {
        Engine = engine;
        Rows = rows;
        Columns = columns;
        K = k;
        DType = dtype;
        var device = engine.Device;
        _generators = device.Allocate<byte>((long)k * columns * dtype.SizeOf());
        try
        {
            _assignment = device.Allocate<byte>((long)rows * CompressedSize.AssignmentBytesPerRow(k));
            _alpha = device.Allocate<float>(rows);
            _dropped = device.Allocate<int>(1);
        }
        catch
        {
            FreeBuffers();
            throw;
        }
    }

    /// <summary>The engine that made it; only that engine's products accept it.</summary>
    public PammEngine Engine { get; }

    /// <inheritdoc/>
    public int Rows { get; }

    /// <inheritdoc/>
    public int Columns { get; }

    /// <inheritdoc/>
    public int K { get; }

    /// <inheritdoc/>
    public DType DType { get; }

    /// <summary>True when f is stored in 16 bits per row.</summary>
    public bool HasCompactAssignment => CompressedSize.AssignmentBytesPerRow(K) == 2;

    /// <inheritdoc/>
    public long StoredBytes => CompressedSize.StoredBytes(Rows, Columns, K, DType);

    /// <inheritdoc/>
    public long DenseBytes => CompressedSize.DenseBytes(Rows, Columns, DType);

    /// <inheritdoc/>
    public double CompressionRatio => (double)DenseBytes / StoredBytes;

    /// <summary>η, read from the device once: waits for the compression to finish.</summary>
    /// <exception cref="ObjectDisposedException">The compressed activation was disposed.</exception>
    public int DroppedRows
    {
        get
        {
            ThrowIfDisposed();
            if (_droppedRows is int known) return known;
            var value = new int[1];
            _dropped.CopyTo(value, Engine.Stream);
            _droppedRows = value[0];
            return value[0];
        }
    }

    /// <inheritdoc/>
    public double Beta => DroppedRows == Rows ? 0.0 : (double)Rows / (Rows - DroppedRows);

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    internal ulong GeneratorsAddress => _generators.Address;

    internal ulong AssignmentAddress => _assignment.Address;

    internal ulong AlphaAddress => _alpha.Address;

    internal ulong DroppedAddress => _dropped.Address;

    /// <summary>Copies the generators C (row-major k × n) to the host; waits for the stream.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> is not the element type of <see cref="DType"/>.</exception>
    public unsafe T[] CopyGenerators<T>() where T : unmanaged
    {
        ThrowIfDisposed();
        if (!PammEngine.TryDTypeOf<T>(out var dtype) || dtype != DType)
            throw new ArgumentException($"The generators are {DType}; {typeof(T).Name} does not match.", nameof(T));
        var result = new T[checked((long)K * Columns)];
        fixed (T* target = result) Engine.Stream.DownloadAsync(target, _generators.Address, _generators.Length);
        Engine.Stream.Synchronize();
        return result;
    }

    /// <summary>Copies f (one generator position per row) to the host, widened to int; waits for the stream.</summary>
    public unsafe int[] CopyAssignment()
    {
        ThrowIfDisposed();
        var result = new int[Rows];
        if (HasCompactAssignment)
        {
            var compact = new ushort[Rows];
            fixed (ushort* target = compact) Engine.Stream.DownloadAsync(target, _assignment.Address, _assignment.Length);
            Engine.Stream.Synchronize();
            for (int i = 0; i < Rows; i++) result[i] = compact[i];
        }
        else
        {
            fixed (int* target = result) Engine.Stream.DownloadAsync(target, _assignment.Address, _assignment.Length);
            Engine.Stream.Synchronize();
        }
        return result;
    }

    /// <summary>Copies α (one coefficient per row) to the host; waits for the stream.</summary>
    public float[] CopyAlpha()
    {
        ThrowIfDisposed();
        return _alpha.ToArray(Engine.Stream);
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Frees the device memory. Waits for the engine's stream first, since queued products may still
    /// read it (while the engine lives; a disposed engine has nothing queued).
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!Engine.IsDisposed) Engine.Stream.Synchronize();
        FreeBuffers();
    }

    private void FreeBuffers()
    {
        _generators?.Dispose();
        _assignment?.Dispose();
        _alpha?.Dispose();
        _dropped?.Dispose();
    }
}
