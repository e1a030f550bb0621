namespace PammCuda.Cli;

/// <summary>
/// The sizes and η of a compressed activation, read once, so that the report can be written after the
/// device memory they describe has been freed.
/// </summary>
internal sealed record CompressedSummary(int Rows, int Columns, int K, DType DType, long StoredBytes, long DenseBytes, int DroppedRows,
    DType AlphaType)
    : ICompressedActivation
{
    /// <summary>The summary; reads η, which waits for a GPU compression to finish.</summary>
    public static CompressedSummary Of(ICompressedActivation compressed) => new(
        compressed.Rows, compressed.Columns, compressed.K, compressed.DType,
        compressed.StoredBytes, compressed.DenseBytes, compressed.ReadDroppedRows(), compressed.AlphaType);

    public int ReadDroppedRows() => DroppedRows;
}
