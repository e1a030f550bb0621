namespace PammCuda;

/// <summary>
/// Where the parts of a compressed activation lie in one block of storage that a caller provides (a framework's
/// tensor, on the device or the host): the generators C at offset 0, then α, f and η, each part starting on a
/// multiple of <see cref="SectionAlignment"/> bytes. Both backends use this layout, so a storage block is sized once by
/// <see cref="TotalBytes"/>, which counts those few alignment gaps on top of <see cref="CompressedSize.StoredBytes"/>.
/// </summary>
public readonly record struct CompressedStorageLayout
{
    /// <summary>Each part starts on a multiple of this many bytes from the block's start (vector loads and atomics need aligned parts).</summary>
    public const int SectionAlignment = 256;

    /// <summary>The alignment a storage block's own address must have.</summary>
    public const int StorageAlignment = 16;

    private CompressedStorageLayout(int rows, int columns, int k, DType dtype, DType alphaType)
    {
        Rows = rows;
        Columns = columns;
        K = k;
        DType = dtype;
        AlphaType = alphaType;
        GeneratorsOffset = 0;
        AlphaOffset = AlignUp((long)k * columns * dtype.SizeOf());
        AssignmentOffset = AlignUp(AlphaOffset + AlphaBytes);
        DroppedOffset = AlignUp(AssignmentOffset + (long)rows * CompressedSize.AssignmentBytesPerRow(k));
        TotalBytes = DroppedOffset + sizeof(int);
    }

    /// <summary>
    /// The layout for an input of <paramref name="rows"/> × <paramref name="columns"/> compressed to <paramref name="k"/>
    /// generators of <paramref name="dtype"/>, α stored as <paramref name="alphaType"/> (<see cref="PammOptions.AlphaType"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">rows or columns below 1, k outside [1, rows], an unknown dtype, or an α type other than float32 or bfloat16.</exception>
    public static CompressedStorageLayout For(int rows, int columns, int k, DType dtype, DType alphaType = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}] (the number of rows).");
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype.");
        CompressedSize.AlphaBytesPerRow(alphaType);
        return new CompressedStorageLayout(rows, columns, k, dtype, alphaType);
    }

    /// <summary>b.</summary>
    public int Rows { get; }

    /// <summary>n.</summary>
    public int Columns { get; }

    /// <summary>k.</summary>
    public int K { get; }

    /// <summary>Element type of X and of the generators.</summary>
    public DType DType { get; }

    /// <summary>How α is stored: float32 or bfloat16.</summary>
    public DType AlphaType { get; }

    /// <summary>Offset of C (k × n row-major elements of <see cref="DType"/>): always 0.</summary>
    public long GeneratorsOffset { get; }

    /// <summary>Offset of α (one <see cref="AlphaType"/> per row).</summary>
    public long AlphaOffset { get; }

    /// <summary>Offset of f (<see cref="CompressedSize.AssignmentBytesPerRow"/> bytes per row).</summary>
    public long AssignmentOffset { get; }

    /// <summary>Offset of η (one int32).</summary>
    public long DroppedOffset { get; }

    /// <summary>Bytes of storage the block needs: the stored bytes plus the alignment gaps between the parts.</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes of C.</summary>
    public long GeneratorBytes => (long)K * Columns * DType.SizeOf();

    /// <summary>Bytes of α.</summary>
    public long AlphaBytes => (long)Rows * CompressedSize.AlphaBytesPerRow(AlphaType);

    /// <summary>Bytes of f.</summary>
    public long AssignmentBytes => (long)Rows * CompressedSize.AssignmentBytesPerRow(K);

    private static long AlignUp(long offset) => (offset + SectionAlignment - 1) / SectionAlignment * SectionAlignment;
}
