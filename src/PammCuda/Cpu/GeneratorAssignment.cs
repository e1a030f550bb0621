namespace PammCuda.Cpu;

/// <summary>
/// f: the generator of every row, in 16 bits per row when k ≤ <see cref="CompressedSize.MaxKForCompactAssignment"/>
/// and 32 bits otherwise, as <see cref="CompressedSize"/> counts it. Rows are written by one thread each.
/// </summary>
internal sealed class GeneratorAssignment
{
    private readonly ushort[]? _compact;
    private readonly int[]? _wide;

    public GeneratorAssignment(int rows, int k)
    {
        if (k <= CompressedSize.MaxKForCompactAssignment) _compact = new ushort[rows];
        else _wide = new int[rows];
    }

    /// <summary>Bytes per row actually used.</summary>
    public int BytesPerRow => _compact is null ? sizeof(int) : sizeof(ushort);

    public int this[int row]
    {
        get => _compact is { } compact ? compact[row] : _wide![row];
        set
        {
            if (_compact is { } compact) compact[row] = (ushort)value;
            else _wide![row] = value;
        }
    }
}
