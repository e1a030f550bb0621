using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// Compression's f and α against the plain definition, computed here with scalar loops: similarities and norms as
/// ascending fused multiply-add chains, the argmax as an ascending scan that replaces only on strictly greater. The
/// backend must agree bit for bit, also when k is large enough that S is built a slice of 1024 generators at a time.
/// </summary>
public class CpuSimilarityTests
{
    [TestCase(150, 33, 7)]
    [TestCase(500, 70, 64)]
    [TestCase(2300, 5, 2200)]
    public void Assignment_and_alpha_are_the_scalar_definition_bitwise(int rows, int columns, int k)
    {
        float[] x = Clustered(rows, columns, 5, 0.4, rows + columns);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = k, Seed = 9 });
        int[] generatorRows = Sampling.GeneratorSampler.Sample(rows, k, 9);
        var (expectedF, expectedAlpha) = Reference(x, rows, columns, generatorRows);
        Assert.That(Assignments(compressed), Is.EqualTo(expectedF));
        Assert.That(Bits(compressed.Alpha), Is.EqualTo(Bits(expectedAlpha)));
    }

    // Generators 5 and 1500 hold the same vector, in different slices of S: the tie goes to the smaller j.
    [Test]
    public void Ties_across_slices_of_generators_go_to_the_smaller_index()
    {
        const int rows = 2200, columns = 6, k = 2100;
        float[] x = Gaussian(rows, columns, 31);
        x.AsSpan(5 * columns, columns).CopyTo(x.AsSpan(1500 * columns, columns));
        for (int c = 0; c < columns; c++) x[2150 * columns + c] = -2 * x[5 * columns + c];
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { GeneratorIndices = [.. Enumerable.Range(0, k)] });
        Assert.Multiple(() =>
        {
            Assert.That(compressed.AssignmentOf(2150), Is.EqualTo(5));
            Assert.That(compressed.Alpha[2150], Is.EqualTo(-2f));
            Assert.That(compressed.AssignmentOf(1500), Is.EqualTo(1500), "a generator row keeps its own index");
        });
    }

    private static (int[] F, float[] Alpha) Reference(float[] x, int rows, int columns, int[] generatorRows)
    {
        int k = generatorRows.Length;
        float Chain(int a, int b)
        {
            float sum = 0f;
            for (int p = 0; p < columns; p++) sum = MathF.FusedMultiplyAdd(x[a * columns + p], x[b * columns + p], sum);
            return sum;
        }
        float[] generatorNorms = [.. generatorRows.Select(g => Chain(g, g))];
        var f = new int[rows];
        var alpha = new float[rows];
        for (int i = 0; i < rows; i++)
        {
            int own = Array.IndexOf(generatorRows, i);
            if (own >= 0) { f[i] = own; alpha[i] = 1f; continue; }
            float best = -1f, bestDot = float.NaN;
            int winner = 0;
            for (int j = 0; j < k; j++)
            {
                if (generatorNorms[j] == 0f) continue;
                float dot = Chain(i, generatorRows[j]);
                float score = MathF.Abs(dot) / MathF.Sqrt(generatorNorms[j]);
                if (score > best) { best = score; bestDot = dot; winner = j; }
            }
            f[i] = winner;
            alpha[i] = bestDot / generatorNorms[winner];
        }
        return (f, alpha);
    }
}
