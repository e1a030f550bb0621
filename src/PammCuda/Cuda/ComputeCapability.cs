namespace PammCuda.Cuda;

/// <summary>A GPU architecture version, e.g. 9.0 for the H100 (<c>sm_90</c>).</summary>
public readonly record struct ComputeCapability(int Major, int Minor) : IComparable<ComputeCapability>
{
    /// <summary>10 · major + minor, the number in <c>sm_XY</c> and in <c>nvrtcGetSupportedArchs</c>.</summary>
    public int Number => Major * 10 + Minor;

    /// <summary>The capability of an <c>sm_XY</c> number.</summary>
    public static ComputeCapability FromNumber(int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(number);
        return new ComputeCapability(number / 10, number % 10);
    }

    /// <inheritdoc/>
    public int CompareTo(ComputeCapability other) => Number.CompareTo(other.Number);

    /// <summary>Orders capabilities.</summary>
    public static bool operator <(ComputeCapability left, ComputeCapability right) => left.Number < right.Number;

    /// <summary>Orders capabilities.</summary>
    public static bool operator >(ComputeCapability left, ComputeCapability right) => left.Number > right.Number;

    /// <summary>Orders capabilities.</summary>
    public static bool operator <=(ComputeCapability left, ComputeCapability right) => left.Number <= right.Number;

    /// <summary>Orders capabilities.</summary>
    public static bool operator >=(ComputeCapability left, ComputeCapability right) => left.Number >= right.Number;

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}";
}
