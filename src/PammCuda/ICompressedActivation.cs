namespace PammCuda;

/// <summary>
/// What PAMM keeps of an activation X (b × n) for the backward pass: the k generator rows C,
/// the generator f(i) and coefficient α_i of every row, and β. Read-only and reusable for
/// several products (the Q, K and V projections read the same X).
/// </summary>
public interface ICompressedActivation
{
    /// <summary>b: rows (tokens) of the compressed input.</summary>
    int Rows { get; }

    /// <summary>n: columns (features) of the compressed input.</summary>
    int Columns { get; }

    /// <summary>k: number of generators.</summary>
    int K { get; }

    /// <summary>Element type of X and of the stored generators.</summary>
    DType DType { get; }

    /// <summary>Bytes kept, everything counted: generators, assignment, coefficients and scalars.</summary>
    long StoredBytes { get; }

    /// <summary>How α is stored: float32, or bfloat16 when <see cref="PammOptions.AlphaType"/> asked for it.</summary>
    DType AlphaType { get; }

    /// <summary>Bytes of the dense input, <c>b·n·sizeof(dtype)</c>, that an exact backward pass would keep.</summary>
    long DenseBytes { get; }

    /// <summary><see cref="DenseBytes"/> / <see cref="StoredBytes"/>.</summary>
    double CompressionRatio => (double)DenseBytes / StoredBytes;

    /// <summary>
    /// η: rows dropped by the ε neighbourhood condition. On a GPU η stays on the device (products apply β there), so
    /// reading it <b>waits</b> for the compression to finish; on the CPU it is a stored value.
    /// </summary>
    int ReadDroppedRows();

    /// <summary>β = b / (b − η): 1 when no row is dropped, 0 when all are. Reads η with <see cref="ReadDroppedRows"/>, so it may wait too.</summary>
    double ReadBeta() => CompressedSize.Beta(Rows, ReadDroppedRows());
}
