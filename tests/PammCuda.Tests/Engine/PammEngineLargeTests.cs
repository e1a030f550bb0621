using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>An input past 2³¹ elements, where 32-bit indexing would wrap: only on a real GPU with the memory for it.</summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineLargeTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 1 << 20, Columns = 2049, GradientColumns = 8, K = 512;

    [Test]
    public unsafe void Input_beyond_two_to_the_31_elements_compresses_and_multiplies_correctly()
    {
        long elements = (long)Rows * Columns;
        Assert.That(elements, Is.GreaterThan(int.MaxValue));
        long needed = elements * 2 + 2L * K * Columns * 4 + (16L << 20) * 4 + (1L << 30);
        if (IsEmulated) Assert.Ignore("A 4 GiB input is for real GPUs only.");
        if (Device.TotalMemoryBytes < needed) Assert.Ignore($"Needs about {needed >> 30} GiB of device memory; {Device.TotalMemoryBytes >> 30} GiB present.");

        using var engine = new PammEngine(Device, new PammOptions { K = K, Seed = 2024 });
        using var x = Device.Allocate<BFloat16>(elements);
        var chunk = new BFloat16[1024L * Columns];
        for (int first = 0; first < Rows; first += 1024)
        {
            for (int r = 0; r < 1024; r++)
                for (int q = 0; q < Columns; q++) chunk[(long)r * Columns + q] = Value(first + r, q);
            fixed (BFloat16* source = chunk) engine.Stream.UploadAsync(x.Address + (ulong)((long)first * Columns * 2), source, chunk.Length * 2L);
            engine.Stream.Synchronize();
        }
        var g = EngineTestData.Random<float>(Rows, GradientColumns, 5);
        using var gradient = Upload(g);
        using var output = Device.Allocate<float>(Columns * GradientColumns);
        using var compressed = engine.Compress(x, Rows, Columns);
        engine.ApproxMatmul(compressed, gradient, GradientColumns, output);

        var generatorRows = Sampling.GeneratorSampler.Sample(Rows, K, 2024);
        var generators = EngineTestData.Widen<BFloat16>(compressed.CopyGenerators<BFloat16>());
        var assignment = compressed.CopyAssignment();
        var alpha = compressed.CopyAlpha();
        Assert.Multiple(() =>
        {
            // The last generator and the last rows lie past element 2³¹.
            for (int q = 0; q < Columns; q++)
                Assert.That(generators[(long)(K - 1) * Columns + q], Is.EqualTo((double)(float)Value(generatorRows[K - 1], q)));
            for (int i = Rows - 64; i < Rows; i++) CheckAssignment(i, generators, assignment[i], alpha[i]);
        });
        AssertProduct(generators, assignment, alpha, g, output.ToArray(engine.Stream), compressed.ReadBeta());
    }

    private static void CheckAssignment(int row, double[] generators, int f, float alpha)
    {
        var values = Enumerable.Range(0, Columns).Select(q => (double)(float)Value(row, q)).ToArray();
        double best = -1, bestDot = 0, bestNorm2 = 1;
        for (int j = 0; j < K; j++)
        {
            double dot = 0, norm2 = 0;
            for (int q = 0; q < Columns; q++) { dot += values[q] * generators[(long)j * Columns + q]; norm2 += generators[(long)j * Columns + q] * generators[(long)j * Columns + q]; }
            double score = Math.Abs(dot) / Math.Sqrt(norm2);
            if (j == f) { bestDot = dot; bestNorm2 = norm2; }
            best = Math.Max(best, score);
        }
        double rowNorm = Math.Sqrt(values.Sum(v => v * v)), u = Math.Pow(2, -24);
        Assert.That(Math.Abs(bestDot) / Math.Sqrt(bestNorm2), Is.EqualTo(best).Within(4 * Columns * u * rowNorm), $"row {row}: f = {f} is not the best generator");
        Assert.That(alpha, Is.EqualTo(bestDot / bestNorm2).Within(4 * Columns * u * rowNorm / Math.Sqrt(bestNorm2) + 1e-6), $"α of row {row}");
    }

    private static void AssertProduct(double[] generators, int[] assignment, float[] alpha, float[] g, float[] actual, double beta)
    {
        var reduced = new double[K * GradientColumns];
        var magnitude = new double[K * GradientColumns];
        for (int i = 0; i < Rows; i++)
            for (int p = 0; p < GradientColumns; p++)
            {
                reduced[assignment[i] * GradientColumns + p] += (double)alpha[i] * g[(long)i * GradientColumns + p];
                magnitude[assignment[i] * GradientColumns + p] += Math.Abs((double)alpha[i] * g[(long)i * GradientColumns + p]);
            }
        double tolerance = 2.0 * (Rows / 16 + K) * Math.Pow(2, -24);
        for (int q = 0; q < Columns; q++)
            for (int p = 0; p < GradientColumns; p++)
            {
                double sum = 0, size = 0;
                for (int j = 0; j < K; j++)
                {
                    sum += generators[(long)j * Columns + q] * reduced[j * GradientColumns + p];
                    size += Math.Abs(generators[(long)j * Columns + q]) * magnitude[j * GradientColumns + p];
                }
                Assert.That(actual[q * GradientColumns + p], Is.EqualTo(beta * sum).Within(tolerance * beta * size + 1e-6), $"({q}, {p})");
            }
    }

    // A cheap reproducible value in [-1, 1) for any element, so no host copy of the 4 GiB input is needed.
    private static BFloat16 Value(long row, int column)
    {
        ulong h = (ulong)(row * Columns + column) * 0x9E3779B97F4A7C15UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return (BFloat16)((h & 0xFFFF) / 32768f - 1f);
    }
}
