namespace PammCuda.Devices;

/// <summary>
/// One kernel argument with the kind of parameter it is meant for, so that a launch can be checked against the kernel's
/// C signature (<see cref="KernelDeclaration"/>) before it is queued: a wrong count, order or size fails instead of
/// handing the kernel misread bytes. The value is kept in 8 bytes; 4-byte kinds use the low half (little-endian).
/// </summary>
internal readonly struct KernelArgument
{
    private KernelArgument(KernelParameterKind kind, ulong bits)
    {
        Kind = kind;
        Bits = bits;
    }

    /// <summary>The parameter kind this argument is for.</summary>
    public KernelParameterKind Kind { get; }

    /// <summary>The value's bytes, in the low bytes for 4-byte kinds.</summary>
    public ulong Bits { get; }

    /// <summary>A device address (0 for a null pointer the kernel tests).</summary>
    public static KernelArgument Pointer(ulong address) => new(KernelParameterKind.Pointer, address);

    /// <summary>An <c>int</c>.</summary>
    public static KernelArgument Int32(int value) => new(KernelParameterKind.Int32, (uint)value);

    /// <summary>A <c>long long</c>.</summary>
    public static KernelArgument Int64(long value) => new(KernelParameterKind.Int64, (ulong)value);

    /// <summary>An <c>unsigned long long</c>.</summary>
    public static KernelArgument UInt64(ulong value) => new(KernelParameterKind.UInt64, value);

    /// <summary>A <c>float</c>.</summary>
    public static KernelArgument Float32(float value) => new(KernelParameterKind.Float32, BitConverter.SingleToUInt32Bits(value));

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} 0x{Bits:x}";
}
