using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The GEMM path's similarities S = X Cᵀ, computed in row chunks: the chunk size and the GEMM of one chunk, shared by
/// the compression pass (<see cref="CompressPass"/>).
/// </summary>
internal static class SimilarityChunking
{
    // Bounds the similarity scratch S (rows × k float32).
    private const long MaxSimilarityElements = 16L << 20;

    /// <summary>Rows per chunk: S stays under <see cref="MaxSimilarityElements"/> and each GEMM operand under 2³¹ elements.</summary>
    public static int ChunkRows(int rows, int columns, int k) =>
        (int)Math.Clamp(MaxSimilarityElements / k, 1, Math.Min(rows, Math.Max(1, int.MaxValue / columns)));

    /// <summary>
    /// S (row-major <paramref name="count"/> × k float32) of rows [<paramref name="first"/>, first + count) of X.
    /// Column-major that is S (k × count) = Cᵀ(k × n) · X_chunk(n × count), i.e. row-major S[i, j] = ⟨X_i, C_j⟩.
    /// No TF32: the argmax and α need full float32 similarities.
    /// </summary>
    public static GemmDescriptor Gemm(ulong x, int first, int count, int columns, DType dtype, ulong generators, int k,
        ulong one, ulong zero, ulong similarities)
    {
        long rowBytes = (long)columns * dtype.SizeOf();
        return new GemmDescriptor(
            GemmOperation.Transpose, GemmOperation.None, k, count, columns,
            one,
            generators, dtype, columns,
            x + (ulong)(first * rowBytes), dtype, columns,
            zero,
            similarities, DType.Float32, k);
    }
}
