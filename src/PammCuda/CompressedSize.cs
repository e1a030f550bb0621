namespace PammCuda;

/// <summary>
/// What a compressed activation keeps, byte for byte, on either backend: the generators C
/// (k·n elements of X's type), the assignment f (8 bits per row when k ≤ 256, 16 when k ≤ 65 536, else 32), the
/// coefficients α (float32 per row, or bfloat16 when <see cref="PammOptions.AlphaType"/> asks) and the dropped-row count
/// η (one int32; β is derived from it).
/// </summary>
public static class CompressedSize
{
    /// <summary>Largest k whose assignment fits in 8 bits.</summary>
    public const int MaxKForByteAssignment = 256;

    /// <summary>Largest k whose assignment fits in 16 bits.</summary>
    public const int MaxKForCompactAssignment = 65_536;

    /// <summary>Bytes per row of the assignment f for <paramref name="k"/> generators: 1, 2 or 4.</summary>
    public static int AssignmentBytesPerRow(int k) => AssignmentWidths.For(k).Bytes();

    /// <summary>Bytes per row of α stored as <paramref name="alphaType"/>: 4 for float32, 2 for bfloat16.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Any other type (float16's range could overflow α).</exception>
    public static int AlphaBytesPerRow(DType alphaType) => alphaType switch
    {
        DType.Float32 => sizeof(float),
        DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(alphaType), alphaType, AlphaTypes),
    };

    /// <summary>Whether α can be stored as <paramref name="alphaType"/>.</summary>
    internal static bool IsAlphaType(DType alphaType) => alphaType is DType.Float32 or DType.BFloat16;

    internal const string AlphaTypes = "α is stored as Float32 or BFloat16.";

    /// <summary>Total bytes kept for an input of <paramref name="rows"/> × <paramref name="columns"/> compressed to <paramref name="k"/> generators, α stored as <paramref name="alphaType"/>.</summary>
    public static long StoredBytes(int rows, int columns, int k, DType dtype, DType alphaType = DType.Float32) =>
        (long)k * columns * dtype.SizeOf() + (long)rows * (AssignmentBytesPerRow(k) + AlphaBytesPerRow(alphaType)) + sizeof(int);

    /// <summary>Bytes of the dense input.</summary>
    public static long DenseBytes(int rows, int columns, DType dtype) => (long)rows * columns * dtype.SizeOf();

    /// <summary>β = b / (b − η) for <paramref name="droppedRows"/> = η of <paramref name="rows"/>: 1 when none is dropped, 0 when all are.</summary>
    public static double Beta(int rows, int droppedRows) => droppedRows == rows ? 0.0 : (double)rows / (rows - droppedRows);
}
