namespace PammCuda;

/// <summary>
/// How many bits a row of the assignment f takes: the fewest that hold every generator number below k. The kernels
/// have one instance per width, named by <see cref="AssignmentWidths.KernelSuffix"/>.
/// </summary>
internal enum AssignmentWidth
{
    /// <summary>8 bits: k ≤ 256.</summary>
    Byte = 1,

    /// <summary>16 bits: k ≤ 65 536.</summary>
    UInt16 = 2,

    /// <summary>32 bits: any k.</summary>
    Int32 = 4,
}

internal static class AssignmentWidths
{
    /// <summary>The width of f for <paramref name="k"/> generators.</summary>
    public static AssignmentWidth For(int k) => k switch
    {
        <= CompressedSize.MaxKForByteAssignment => AssignmentWidth.Byte,
        <= CompressedSize.MaxKForCompactAssignment => AssignmentWidth.UInt16,
        _ => AssignmentWidth.Int32,
    };

    /// <summary>Bytes a row of f takes.</summary>
    public static int Bytes(this AssignmentWidth width) => (int)width;

    /// <summary>The suffix of the kernel instances that read or write f of this width: u8, u16 or i32.</summary>
    public static string KernelSuffix(this AssignmentWidth width) => width switch
    {
        AssignmentWidth.Byte => "u8",
        AssignmentWidth.UInt16 => "u16",
        AssignmentWidth.Int32 => "i32",
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, "Unknown assignment width."),
    };
}
