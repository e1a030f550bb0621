using System.Runtime.CompilerServices;

namespace PammCuda;

/// <summary>Conversions between the supported element types and the float32 that PAMM accumulates in.</summary>
public static class ElementConvert
{
    /// <summary>Widens one element to float32 (exact for every supported type).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle<T>(T value) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T, float>(ref value);
        if (typeof(T) == typeof(Half)) return (float)Unsafe.As<T, Half>(ref value);
        if (typeof(T) == typeof(BFloat16)) return (float)Unsafe.As<T, BFloat16>(ref value);
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported.");
    }

    /// <summary>Rounds a float32 to the element type (round to nearest, ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FromSingle<T>(float value) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<float, T>(ref value);
        if (typeof(T) == typeof(Half)) { Half h = (Half)value; return Unsafe.As<Half, T>(ref h); }
        if (typeof(T) == typeof(BFloat16)) { BFloat16 b = (BFloat16)value; return Unsafe.As<BFloat16, T>(ref b); }
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported.");
    }
}
