using PammCuda.Cpu;

namespace PammCuda.Tests.Cpu;

/// <summary>The SIMD building blocks against scalar loops, for every length 1..256 so that every vector tail is covered.</summary>
public class CpuKernelsTests
{
    private static IEnumerable<int> Lengths => Enumerable.Range(1, 256);

    [TestCaseSource(nameof(Lengths))]
    public void Dot_is_within_the_float32_bound_of_the_double_dot_and_independent_of_the_address(int length)
    {
        var random = new Random(length);
        var x = new float[length + 7];
        var y = new float[length + 7];
        for (int i = 0; i < x.Length; i++) { x[i] = (float)CpuTestData.NextGaussian(random); y[i] = (float)CpuTestData.NextGaussian(random); }

        double exact = 0, absolute = 0;
        for (int i = 0; i < length; i++) { exact += (double)x[i] * y[i]; absolute += Math.Abs((double)x[i] * y[i]); }
        float dot = VectorDot.Dot(x.AsSpan(0, length), y.AsSpan(0, length));
        Assert.That(dot, Is.EqualTo(exact).Within((length + 1) * CpuTestData.Float32Roundoff * absolute));

        for (int offset = 1; offset < 8; offset++)
        {
            var xs = new float[length + offset];
            var ys = new float[length + offset];
            x.AsSpan(0, length).CopyTo(xs.AsSpan(offset));
            y.AsSpan(0, length).CopyTo(ys.AsSpan(offset));
            Assert.That(BitConverter.SingleToInt32Bits(VectorDot.Dot(xs.AsSpan(offset), ys.AsSpan(offset))), Is.EqualTo(BitConverter.SingleToInt32Bits(dot)), $"offset {offset}");
        }
    }

    [TestCaseSource(nameof(Lengths))]
    public void Row_conversion_matches_the_scalar_conversions(int length)
    {
        var random = new Random(length);
        float[] values = new float[length];
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 1e-40f, 70000f, 65519f, 3.3895e38f];
        for (int i = 0; i < length; i++)
            values[i] = i < specials.Length && length > 16 ? specials[i] : (float)(CpuTestData.NextGaussian(random) * Math.Pow(2, random.Next(-20, 20)));
        AssertRoundTrip<Half>(values);
        AssertRoundTrip<BFloat16>(values);
        AssertRoundTrip<float>(values);
    }

    private static void AssertRoundTrip<T>(float[] values) where T : unmanaged
    {
        var narrowed = new T[values.Length];
        RowConverter.FromSingle<T>(values, narrowed);
        var widened = new float[values.Length];
        RowConverter.ToSingle<T>(narrowed, widened);
        for (int i = 0; i < values.Length; i++)
        {
            float expected = ElementConvert.ToSingle(ElementConvert.FromSingle<T>(values[i]));
            // NaN payloads may differ; everything else must be the same bits.
            if (float.IsNaN(expected)) Assert.That(widened[i], Is.NaN, $"{typeof(T).Name} element {i}");
            else Assert.That(BitConverter.SingleToInt32Bits(widened[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), $"{typeof(T).Name} element {i} ({values[i]})");
        }
    }
}
