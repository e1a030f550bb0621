using PammCuda.Cpu;

namespace PammCuda.Tests.Cpu;

/// <summary>The SIMD building blocks against scalar loops, for every length 1..256 so that every vector tail is covered.</summary>
public class CpuKernelsTests
{
    private static IEnumerable<int> Lengths => Enumerable.Range(1, 256);

    // Lengths 1..256 cover every tail of the 8- and 16-lane vectors; ties, NaN scores and NaN divisors (generators
    // that may never win) are sown in, and the answer must be the one of the plain scan.
    [TestCaseSource(nameof(Lengths))]
    public void ArgMax_is_the_ascending_scan_with_strictly_greater_replacement(int length)
    {
        var random = new Random(length);
        for (int trial = 0; trial < 8; trial++)
        {
            var similarities = new float[length];
            var divisors = new float[length];
            for (int j = 0; j < length; j++)
            {
                // Few distinct values, so that ties between lanes and with the tail are common.
                similarities[j] = random.Next(-3, 4) * (trial % 2 == 0 ? 1f : 0.37f);
                divisors[j] = random.Next(0, 6) switch { 0 => float.NaN, 1 => 2f, _ => 1f };
                if (random.Next(10) == 0) similarities[j] = float.NaN;
            }
            if (trial == 7) Array.Fill(divisors, float.NaN);
            Assert.That(SimilarityArgMax.Find(similarities, divisors), Is.EqualTo(Scan(similarities, divisors)), $"trial {trial}");
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

    private static int Scan(float[] similarities, float[] divisors)
    {
        float best = -1f;
        int winner = -1;
        for (int j = 0; j < similarities.Length; j++)
        {
            float score = MathF.Abs(similarities[j]) / divisors[j];
            if (score > best) { best = score; winner = j; }
        }
        return winner;
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
