using PammCuda.Cpu;
using PammCuda.Engine;

namespace PammCuda.Tests.Engine;

/// <summary>What a compression kept, read back to the host, in the form the comparisons need.</summary>
/// <param name="Generators">C widened to double, k × columns.</param>
/// <param name="GeneratorBits">C as stored, widened to float32 (bit patterns compare exactly).</param>
internal sealed record CompressionResult(int K, double[] Generators, float[] GeneratorBits, int[] Assignment, float[] Alpha, int DroppedRows, long StoredBytes,
    DType AlphaType)
{
    public static CompressionResult Of<T>(GpuCompressedActivation compressed) where T : unmanaged
    {
        var generators = compressed.CopyGenerators<T>();
        return new(compressed.K, EngineTestData.Widen<T>(generators), [.. generators.Select(ElementConvert.ToSingle)],
            compressed.CopyAssignment(), compressed.CopyAlpha(), compressed.ReadDroppedRows(), compressed.StoredBytes, compressed.AlphaType);
    }

    public static CompressionResult Of<T>(CpuCompressedActivation<T> cpu) where T : unmanaged
    {
        var generators = cpu.Generators.ToArray();
        return new(cpu.K, EngineTestData.Widen<T>(generators), [.. generators.Select(ElementConvert.ToSingle)],
            [.. Enumerable.Range(0, cpu.Rows).Select(cpu.AssignmentOf)], cpu.Alpha.ToArray(), cpu.DroppedRows, cpu.StoredBytes, cpu.AlphaType);
    }
}

/// <summary>
/// Asserts that two compressions of one X agree as the spec requires: the same generators, η and stored bytes; the
/// same f except at near-ties (both generators score alike within the float32 error of a length-n dot product);
/// α within the float32 bound of two summation orders (plus one bfloat16 ulp where α is stored as bfloat16: two float32
/// values that close may round to neighbouring bfloat16 values).
/// </summary>
internal static class CompressionComparison
{
    /// <summary>Compares <paramref name="actual"/> with <paramref name="expected"/>; returns the number of near-ties seen.</summary>
    public static int AssertAgree<T>(T[] x, int rows, int columns, CompressionResult actual, CompressionResult expected, bool nearTiesAreRare = true)
        where T : unmanaged
    {
        var widened = EngineTestData.Widen<T>(x);
        var generators = expected.Generators;
        double u = EngineTestData.UnitRoundoff(DType.Float32);
        int nearTies = 0;
        Assert.Multiple(() =>
        {
            Assert.That(actual.K, Is.EqualTo(expected.K));
            Assert.That(actual.GeneratorBits, Is.EqualTo(expected.GeneratorBits), "generators are copied rows");
            Assert.That(actual.DroppedRows, Is.EqualTo(expected.DroppedRows));
            Assert.That(actual.StoredBytes, Is.EqualTo(expected.StoredBytes));
            Assert.That(actual.AlphaType, Is.EqualTo(expected.AlphaType));
            for (int i = 0; i < rows; i++)
            {
                var row = widened.AsSpan(i * columns, columns);
                int f = expected.Assignment[i];
                if (actual.Assignment[i] != f)
                {
                    double mine = Score(row, generators.AsSpan(actual.Assignment[i] * columns, columns));
                    double theirs = Score(row, generators.AsSpan(f * columns, columns));
                    double rowNorm = Math.Sqrt(Dot(row, row));
                    Assert.That(Math.Abs(mine - theirs), Is.LessThanOrEqualTo(4 * columns * u * rowNorm), $"row {i}: f {actual.Assignment[i]} vs {f}");
                    nearTies++;
                    continue;
                }
                var generator = generators.AsSpan(f * columns, columns);
                double norm2 = Dot(generator, generator);
                double alphaUlp = expected.AlphaType == DType.BFloat16 ? Math.Pow(2, -7) : 0;
                double bound = norm2 == 0 ? 0 : 4 * (columns + 2) * u * AbsDot(row, generator) / norm2 + (4 * u + alphaUlp) * Math.Abs(expected.Alpha[i]);
                if (float.IsNaN(expected.Alpha[i])) Assert.That(actual.Alpha[i], Is.NaN, $"row {i}");
                // A NaN in the row or its generator leaves no error bound: what the rules fix then (a generator row's α = 1) is exact.
                else if (double.IsNaN(bound)) Assert.That(actual.Alpha[i], Is.EqualTo(expected.Alpha[i]), $"α of row {i}");
                else Assert.That(actual.Alpha[i], Is.EqualTo(expected.Alpha[i]).Within(bound), $"α of row {i}");
            }
        });
        if (nearTiesAreRare) Assert.That(nearTies, Is.LessThanOrEqualTo(rows / 100 + 1), "near-ties should be rare on random data");
        return nearTies;
    }

    /// <summary>
    /// Asserts that two compressed forms hold the same bits in every part (C, f, α, η and the stored bytes): a determinism
    /// check that, unlike comparing storage blocks byte by byte, leaves out the alignment padding between the parts,
    /// which nothing writes and a fresh block holds whatever was there.
    /// </summary>
    public static void AssertIdentical(CompressionResult actual, CompressionResult expected, string what = "the compressed form")
    {
        Assert.Multiple(() =>
        {
            Assert.That(actual.K, Is.EqualTo(expected.K), $"{what}: k");
            Assert.That(Bits(actual.GeneratorBits), Is.EqualTo(Bits(expected.GeneratorBits)), $"{what}: C");
            Assert.That(actual.Assignment, Is.EqualTo(expected.Assignment), $"{what}: f");
            Assert.That(Bits(actual.Alpha), Is.EqualTo(Bits(expected.Alpha)), $"{what}: α");
            Assert.That(actual.DroppedRows, Is.EqualTo(expected.DroppedRows), $"{what}: η");
            Assert.That(actual.StoredBytes, Is.EqualTo(expected.StoredBytes), $"{what}: stored bytes");
            Assert.That(actual.AlphaType, Is.EqualTo(expected.AlphaType), $"{what}: α's type");
        });
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static double AbsDot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.Abs(a[i] * b[i]);
        return sum;
    }

    private static double Score(ReadOnlySpan<double> row, ReadOnlySpan<double> generator) =>
        Math.Abs(Dot(row, generator)) / Math.Sqrt(Dot(generator, generator));
}
