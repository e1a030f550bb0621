using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace PammCuda.Cpu;

/// <summary>
/// A SIMD dot product whose rounding depends only on the values and the length. TensorPrimitives.Dot
/// aligns its loads to the address, so the same row stored at two places can give two results, which
/// would break bitwise reproducibility between runs; here the lane of element i is always i mod width.
/// </summary>
internal static class VectorDot
{
    /// <summary>Σ x_i·y_i in float32: four vector accumulators over blocks, a fixed lane reduction, then the tail in index order.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Debug.Assert(x.Length == y.Length);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        ref float yRef = ref MemoryMarshal.GetReference(y);
        int width = Vector<float>.Count, length = x.Length, i = 0;
        Vector<float> sum0 = Vector<float>.Zero, sum1 = Vector<float>.Zero, sum2 = Vector<float>.Zero, sum3 = Vector<float>.Zero;
        for (; i <= length - 4 * width; i += 4 * width)
        {
            sum0 += Vector.LoadUnsafe(ref xRef, (nuint)i) * Vector.LoadUnsafe(ref yRef, (nuint)i);
            sum1 += Vector.LoadUnsafe(ref xRef, (nuint)(i + width)) * Vector.LoadUnsafe(ref yRef, (nuint)(i + width));
            sum2 += Vector.LoadUnsafe(ref xRef, (nuint)(i + 2 * width)) * Vector.LoadUnsafe(ref yRef, (nuint)(i + 2 * width));
            sum3 += Vector.LoadUnsafe(ref xRef, (nuint)(i + 3 * width)) * Vector.LoadUnsafe(ref yRef, (nuint)(i + 3 * width));
        }
        for (; i <= length - width; i += width)
            sum0 += Vector.LoadUnsafe(ref xRef, (nuint)i) * Vector.LoadUnsafe(ref yRef, (nuint)i);
        float sum = Vector.Sum((sum0 + sum1) + (sum2 + sum3));
        for (; i < length; i++)
            sum += x[i] * y[i];
        return sum;
    }
}
