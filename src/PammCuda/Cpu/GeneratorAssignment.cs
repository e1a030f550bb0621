using System.Runtime.InteropServices;

namespace PammCuda.Cpu;

/// <summary>
/// f: the generator of every row, in the fewest bits that hold k − 1 (8, 16 or 32 per row; <see cref="AssignmentWidths.For"/>),
/// as <see cref="CompressedSize"/> counts it. Rows are written by one thread each.
/// </summary>
internal sealed class GeneratorAssignment
{
    private readonly byte[]? _bytes;
    private readonly ushort[]? _compact;
    private readonly int[]? _wide;

    public GeneratorAssignment(int rows, int k)
    {
        Width = AssignmentWidths.For(k);
        switch (Width)
        {
            case AssignmentWidth.Byte: _bytes = new byte[rows]; break;
            case AssignmentWidth.UInt16: _compact = new ushort[rows]; break;
            default: _wide = new int[rows]; break;
        }
    }

    /// <summary>f as read from <paramref name="stored"/>, the bytes <see cref="CopyTo"/> wrote.</summary>
    public GeneratorAssignment(ReadOnlySpan<byte> stored, int rows, int k)
        : this(rows, k) => stored[..(rows * BytesPerRow)].CopyTo(Bytes);

    /// <summary>How many bits a row takes.</summary>
    public AssignmentWidth Width { get; }

    /// <summary>Bytes per row actually used.</summary>
    public int BytesPerRow => Width.Bytes();

    /// <summary>Writes f as <see cref="BytesPerRow"/> native-endian bytes per row, the layout the GPU engine stores.</summary>
    public void CopyTo(Span<byte> target) => Bytes.CopyTo(target);

    private Span<byte> Bytes => Width switch
    {
        AssignmentWidth.Byte => _bytes,
        AssignmentWidth.UInt16 => MemoryMarshal.AsBytes(_compact.AsSpan()),
        _ => MemoryMarshal.AsBytes(_wide.AsSpan()),
    };

    public int this[int row]
    {
        get => Width switch
        {
            AssignmentWidth.Byte => _bytes![row],
            AssignmentWidth.UInt16 => _compact![row],
            _ => _wide![row],
        };
        set
        {
            switch (Width)
            {
                case AssignmentWidth.Byte: _bytes![row] = (byte)value; break;
                case AssignmentWidth.UInt16: _compact![row] = (ushort)value; break;
                default: _wide![row] = value; break;
            }
        }
    }
}
