using System.Runtime.InteropServices;

namespace PammCuda.Cpu;

/// <summary>
/// An activation X (b × n) compressed by <see cref="CpuPamm.Compress{T}(ReadOnlySpan{T}, int, int, PammOptions)"/>:
/// the generators C = X[S] in X's element type, the generator f(i) and coefficient α_i of every row, and η
/// (β is derived from it). Immutable, so one compressed form serves any number of products.
/// </summary>
/// <typeparam name="T">X's element type: <see cref="float"/>, <see cref="Half"/> or <see cref="BFloat16"/>.</typeparam>
public sealed class CpuCompressedActivation<T> : ICompressedActivation where T : unmanaged
{
    private readonly T[] _generators;
    private readonly GeneratorAssignment _assignment;
    private readonly float[] _alpha;

    internal CpuCompressedActivation(int rows, int columns, int k, T[] generators, GeneratorAssignment assignment, float[] alpha, int droppedRows,
        DType alphaType)
    {
        Rows = rows;
        Columns = columns;
        K = k;
        AlphaType = alphaType;
        _generators = generators;
        _assignment = assignment;
        _alpha = alpha;
        DroppedRows = droppedRows;
    }

    /// <inheritdoc/>
    public int Rows { get; }

    /// <inheritdoc/>
    public int Columns { get; }

    /// <inheritdoc/>
    public int K { get; }

    /// <inheritdoc/>
    public DType DType => DTypes.Of<T>();

    /// <summary>η: rows dropped by the ε neighbourhood condition (a host value: reading it never waits).</summary>
    public int DroppedRows { get; }

    /// <summary>β = b / (b − η): 1 when no row is dropped, 0 when all are.</summary>
    public double Beta => CompressedSize.Beta(Rows, DroppedRows);

    /// <inheritdoc/>
    /// <remarks>
    /// The host object holds α as float32 even when <see cref="AlphaType"/> is bfloat16 (the values rounded to it); the
    /// stored form (<see cref="WriteTo"/>, the GPU's) takes 2 bytes a row, and that is what is counted.
    /// </remarks>
    public long StoredBytes => CompressedSize.StoredBytes(Rows, Columns, K, DType, AlphaType);

    /// <inheritdoc/>
    public DType AlphaType { get; }

    /// <inheritdoc/>
    public long DenseBytes => CompressedSize.DenseBytes(Rows, Columns, DType);

    /// <inheritdoc/>
    public double CompressionRatio => (double)DenseBytes / StoredBytes;

    /// <summary>C: the k generator rows, k × n row-major, in the order of the generator list.</summary>
    public ReadOnlySpan<T> Generators => _generators;

    /// <summary>α_i for every row: the projection coefficient onto its generator; 1 for generator rows (unless the generators were refined, <see cref="PammOptions.RefineGenerators"/>), 0 for zero and dropped rows.</summary>
    public ReadOnlySpan<float> Alpha => _alpha;

    /// <summary>f(i): the generator, in [0, k), that row <paramref name="row"/> is represented by.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> outside [0, <see cref="Rows"/>).</exception>
    public int AssignmentOf(int row)
    {
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {Rows}).");
        return _assignment[row];
    }

    /// <inheritdoc/>
    public int ReadDroppedRows() => DroppedRows;

    /// <summary>The layout of this activation in a storage block (<see cref="WriteTo"/>).</summary>
    public CompressedStorageLayout Layout => CompressedStorageLayout.For(Rows, Columns, K, DType, AlphaType);

    /// <summary>
    /// Writes C, α, f and η into <paramref name="storage"/> as <see cref="Layout"/> places them (the layout the GPU engine
    /// writes into caller storage), so that <see cref="CpuPamm.ReadCompressed{T}"/> gives this activation back.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="storage"/> is shorter than <see cref="CompressedStorageLayout.TotalBytes"/>.</exception>
    public void WriteTo(Span<byte> storage)
    {
        var layout = Layout;
        CheckStorage(storage.Length, layout, nameof(storage));
        MemoryMarshal.AsBytes(_generators.AsSpan()).CopyTo(storage.Slice((int)layout.GeneratorsOffset));
        if (AlphaType == DType.BFloat16)
        {
            Span<BFloat16> rounded = MemoryMarshal.Cast<byte, BFloat16>(storage.Slice((int)layout.AlphaOffset, (int)layout.AlphaBytes));
            for (int row = 0; row < Rows; row++) rounded[row] = (BFloat16)_alpha[row]; // exact: the values are bfloat16 already
        }
        else
        {
            MemoryMarshal.AsBytes(_alpha.AsSpan()).CopyTo(storage.Slice((int)layout.AlphaOffset));
        }
        _assignment.CopyTo(storage.Slice((int)layout.AssignmentOffset));
        MemoryMarshal.Write(storage.Slice((int)layout.DroppedOffset), DroppedRows);
    }

    /// <summary>The activation a storage block holds (see <see cref="CpuPamm.ReadCompressed{T}"/>).</summary>
    internal static CpuCompressedActivation<T> ReadFrom(ReadOnlySpan<byte> storage, int rows, int columns, int k, DType alphaType)
    {
        CpuArguments.CheckElementType<T>();
        var layout = CompressedStorageLayout.For(rows, columns, k, DTypes.Of<T>(), alphaType);
        CheckStorage(storage.Length, layout, nameof(storage));
        var generators = MemoryMarshal.Cast<byte, T>(storage.Slice((int)layout.GeneratorsOffset, (int)layout.GeneratorBytes)).ToArray();
        ReadOnlySpan<byte> storedAlpha = storage.Slice((int)layout.AlphaOffset, (int)layout.AlphaBytes);
        float[] alpha = alphaType == DType.BFloat16
            ? [.. MemoryMarshal.Cast<byte, BFloat16>(storedAlpha).ToArray().Select(value => (float)value)]
            : MemoryMarshal.Cast<byte, float>(storedAlpha).ToArray();
        var assignment = new GeneratorAssignment(storage.Slice((int)layout.AssignmentOffset), rows, k);
        for (int row = 0; row < rows; row++)
            if ((uint)assignment[row] >= (uint)k)
                throw new ArgumentException($"The storage assigns row {row} to generator {assignment[row]}, outside [0, {k}).", nameof(storage));
        int dropped = MemoryMarshal.Read<int>(storage.Slice((int)layout.DroppedOffset));
        if (dropped < 0 || dropped > rows)
            throw new ArgumentException($"The storage holds η = {dropped}, outside [0, {rows}].", nameof(storage));
        return new CpuCompressedActivation<T>(rows, columns, k, generators, assignment, alpha, dropped, alphaType);
    }

    private static void CheckStorage(int length, in CompressedStorageLayout layout, string name)
    {
        if (length < layout.TotalBytes)
            throw new ArgumentException($"{name} holds {length} bytes; a {layout.Rows} × {layout.Columns} input with k = {layout.K} needs {layout.TotalBytes}.", name);
    }

    internal T[] GeneratorArray => _generators;

    internal GeneratorAssignment Assignment => _assignment;

    internal float[] AlphaArray => _alpha;
}
