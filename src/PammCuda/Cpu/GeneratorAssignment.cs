using System.Runtime.InteropServices;

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

    /// <summary>f as read from <paramref name="stored"/>, the bytes <see cref="CopyTo"/> wrote.</summary>
    public GeneratorAssignment(ReadOnlySpan<byte> stored, int rows, int k)
        : this(rows, k)
    {
        if (_compact is { } compact) MemoryMarshal.Cast<byte, ushort>(stored[..(rows * sizeof(ushort))]).CopyTo(compact);
        else MemoryMarshal.Cast<byte, int>(stored[..(rows * sizeof(int))]).CopyTo(_wide);
    }

    /// <summary>Bytes per row actually used.</summary>
    public int BytesPerRow => _compact is null ? sizeof(int) : sizeof(ushort);

    /// <summary>Writes f as <see cref="BytesPerRow"/> native-endian bytes per row, the layout the GPU engine stores.</summary>
    public void CopyTo(Span<byte> target)
    {
        ReadOnlySpan<byte> bytes = _compact is { } compact ? MemoryMarshal.AsBytes(compact.AsSpan()) : MemoryMarshal.AsBytes(_wide.AsSpan());
        bytes.CopyTo(target);
    }

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
