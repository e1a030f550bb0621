namespace PammCuda;

/// <summary>Element types PAMM accepts for X, G and the output. Accumulation is always float32.</summary>
public enum DType
{
    /// <summary>IEEE 754 binary32 (<see cref="float"/>).</summary>
    Float32,

    /// <summary>IEEE 754 binary16 (<see cref="System.Half"/>).</summary>
    Float16,

    /// <summary>bfloat16: the upper half of a binary32 (<see cref="PammCuda.BFloat16"/>).</summary>
    BFloat16,
}

/// <summary>Sizes and names of <see cref="DType"/> values, and the mapping from CLR element types.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float16 => 2,
        DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>The short name used in kernel names and reports: f32, f16, bf16.</summary>
    public static string ShortName(this DType dtype) => dtype switch
    {
        DType.Float32 => "f32",
        DType.Float16 => "f16",
        DType.BFloat16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>The dtype of a CLR element type: <see cref="float"/>, <see cref="Half"/> or <see cref="PammCuda.BFloat16"/>.</summary>
    /// <exception cref="NotSupportedException">Any other type.</exception>
    public static DType Of<T>() where T : unmanaged =>
        TryOf<T>(out var dtype)
            ? dtype
            : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float, Half or BFloat16.");

    /// <summary>The dtype of a CLR element type, or false for a type other than <see cref="float"/>, <see cref="Half"/> and <see cref="PammCuda.BFloat16"/>.</summary>
    public static bool TryOf<T>(out DType dtype) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) dtype = DType.Float32;
        else if (typeof(T) == typeof(Half)) dtype = DType.Float16;
        else if (typeof(T) == typeof(BFloat16)) dtype = DType.BFloat16;
        else
        {
            dtype = default;
            return false;
        }
        return true;
    }
}
