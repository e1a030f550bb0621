namespace PammCuda.Engine;

/// <summary>
/// Where the parts of one compressed activation lie on the device and its shape: what a compression writes and a product
/// reads (see <see cref="CompressedStorageLayout"/> for how one storage block holds them).
/// </summary>
/// <param name="Rows">b.</param>
/// <param name="Columns">n.</param>
/// <param name="K">k.</param>
/// <param name="DType">The generators' element type (X's).</param>
/// <param name="Generators">C, row-major k × n.</param>
/// <param name="Assignment">f, 8, 16 or 32 bits a row (<see cref="AssignmentWidths.For"/>).</param>
/// <param name="Alpha">α, one float32 (or bfloat16, <paramref name="AlphaType"/>) a row.</param>
/// <param name="Dropped">η, one int.</param>
/// <param name="AlphaType">How α is stored.</param>
internal readonly record struct CompressedParts(
    int Rows, int Columns, int K, DType DType, ulong Generators, ulong Assignment, ulong Alpha, ulong Dropped, DType AlphaType)
{
    /// <summary>The parts of <paramref name="compressed"/>.</summary>
    public static CompressedParts Of(GpuCompressedActivation compressed) =>
        new(compressed.Rows, compressed.Columns, compressed.K, compressed.DType, compressed.GeneratorsAddress,
            compressed.AssignmentAddress, compressed.AlphaAddress, compressed.DroppedAddress, compressed.AlphaType);

    /// <summary>How many bits a row of f takes.</summary>
    public AssignmentWidth AssignmentWidth => AssignmentWidths.For(K);
}
