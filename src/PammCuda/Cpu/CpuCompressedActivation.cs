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

    internal CpuCompressedActivation(int rows, int columns, int k, T[] generators, GeneratorAssignment assignment, float[] alpha, int droppedRows)
    {
        Rows = rows;
        Columns = columns;
        K = k;
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

    /// <inheritdoc/>
    public int DroppedRows { get; }

    /// <inheritdoc/>
    public double Beta => DroppedRows == Rows ? 0.0 : (double)Rows / (Rows - DroppedRows);

    /// <inheritdoc/>
    public long StoredBytes => CompressedSize.StoredBytes(Rows, Columns, K, DType);

    /// <inheritdoc/>
    public long DenseBytes => CompressedSize.DenseBytes(Rows, Columns, DType);

    /// <inheritdoc/>
    public double CompressionRatio => (double)DenseBytes / StoredBytes;

    /// <summary>C: the k generator rows, k × n row-major, in the order of the generator list.</summary>
    public ReadOnlySpan<T> Generators => _generators;

    /// <summary>α_i for every row: the projection coefficient onto its generator; 1 for generator rows, 0 for zero and dropped rows.</summary>
    public ReadOnlySpan<float> Alpha => _alpha;

    /// <summary>f(i): the generator, in [0, k), that row <paramref name="row"/> is represented by.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> outside [0, <see cref="Rows"/>).</exception>
    public int AssignmentOf(int row)
    {
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {Rows}).");
        return _assignment[row];
    }

    internal T[] GeneratorArray => _generators;

    internal GeneratorAssignment Assignment => _assignment;

    internal float[] AlphaArray => _alpha;
}
