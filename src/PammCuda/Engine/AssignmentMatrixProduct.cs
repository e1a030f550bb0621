using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The product's other sort-free form (design §8): B̃ = Pᵀ G as one GEMM, with P the b × k matrix that holds α_i at column
/// f(i) of row i, built densely from f and α (<c>pamm_assignment_matrix</c>). It reads G once, as the two reduction passes
/// do, and needs no grouping of the rows; it rounds α to G's dtype, and cuBLAS orders the sums over b its own way. It is
/// not the engine's path: the stage benchmark times both forms on the same compression, so that a GPU run decides
/// between them (kernels/README.md, "P built densely and one GEMM").
/// </summary>
internal static class AssignmentMatrixProduct
{
    /// <summary>Bytes of Pᵀ for <paramref name="rows"/> rows and <paramref name="k"/> generators in G's dtype.</summary>
    public static long MatrixBytes(int rows, int k, DType gradientType) => (long)rows * k * gradientType.SizeOf();

    /// <summary>Pᵀ (k × b, row-major, in <paramref name="gradientType"/>) of <paramref name="compressed"/> at <paramref name="matrix"/>.</summary>
    public static void BuildMatrix(IDeviceStream stream, CompressedParts compressed, DType gradientType, ulong matrix) =>
        PammKernels.AssignmentMatrix(stream, compressed.AssignmentWidth, compressed.Assignment, compressed.AlphaType, compressed.Alpha,
            compressed.Rows, compressed.K, gradientType, matrix);

    /// <summary>
    /// B̃ = Pᵀ G (row-major k × m, float32) into <paramref name="reduced"/>: G row-major b × m, Pᵀ from <see cref="BuildMatrix"/>.
    /// Column-major, that is B̃ᵀ (m × k) = Gᵀ (m × b) · P (b × k), neither operand transposed. No TF32 for float32 G: the
    /// reduction passes sum in full float32 too. <paramref name="one"/> is the device's float 1 and <paramref name="beta"/>
    /// its float 0, or 1 to add the product to what <paramref name="reduced"/> holds (the sums of a matrix built in row chunks).
    /// </summary>
    public static GemmDescriptor Reduce(ulong matrix, int rows, int k, ulong gradient, int columns, DType gradientType,
        ulong one, ulong beta, ulong reduced) =>
        new(GemmOperation.None, GemmOperation.None, columns, k, rows,
            one,
            gradient, gradientType, columns,
            matrix, gradientType, rows,
            beta,
            reduced, DType.Float32, columns);
}
