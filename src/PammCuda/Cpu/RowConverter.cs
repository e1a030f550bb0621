using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>Widens rows of float, Half or BFloat16 to float32 for the SIMD loops, and narrows results back.</summary>
internal static class RowConverter
{
    /// <summary>The row as float32: the row itself when it already is float, otherwise widened into the start of <paramref name="buffer"/>.</summary>
    public static ReadOnlySpan<float> AsSingle<T>(ReadOnlySpan<T> row, Span<float> buffer) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return MemoryMarshal.Cast<T, float>(row);
        Span<float> widened = buffer[..row.Length];
        ToSingle(row, widened);
        return widened;
    }

    /// <summary>Exact widening of every element.</summary>
    public static void ToSingle<T>(ReadOnlySpan<T> source, Span<float> destination) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            MemoryMarshal.Cast<T, float>(source).CopyTo(destination);
        }
        else if (typeof(T) == typeof(Half))
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<T, Half>(source), destination);
        }
        else if (typeof(T) == typeof(BFloat16))
        {
            WidenBFloat16(MemoryMarshal.Cast<T, ushort>(source), destination);
        }
        else
        {
            throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float, Half or BFloat16.");
        }
    }

    // bfloat16 is the upper half of a float32, so widening is a 16-bit shift: exact, NaN payloads included. Done 16 at a
    // time, because X and G in bfloat16 pass through here once per compression and per product (TensorPrimitives has
    // no BFloat16 conversion).
    private static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref ushort from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(destination[..source.Length]);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                (Vector256<uint> lower, Vector256<uint> upper) = Vector256.Widen(Vector256.LoadUnsafe(ref from, (nuint)i));
                Vector256.ShiftLeft(lower, 16).AsSingle().StoreUnsafe(ref to, (nuint)i);
                Vector256.ShiftLeft(upper, 16).AsSingle().StoreUnsafe(ref to, (nuint)(i + Vector256<uint>.Count));
            }
        }
        for (; i < source.Length; i++)
            Unsafe.Add(ref to, i) = BitConverter.Int32BitsToSingle(Unsafe.Add(ref from, i) << 16);
    }

    /// <summary>Rounds every element to the target type (to nearest, ties to even).</summary>
    public static void FromSingle<T>(ReadOnlySpan<float> source, Span<T> destination) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            source.CopyTo(MemoryMarshal.Cast<T, float>(destination));
        }
        else if (typeof(T) == typeof(Half))
        {
            TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<T, Half>(destination));
        }
        else if (typeof(T) == typeof(BFloat16))
        {
            Span<BFloat16> bf16 = MemoryMarshal.Cast<T, BFloat16>(destination);
            for (int i = 0; i < source.Length; i++) bf16[i] = (BFloat16)source[i];
        }
        else
        {
            throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float, Half or BFloat16.");
        }
    }
}
