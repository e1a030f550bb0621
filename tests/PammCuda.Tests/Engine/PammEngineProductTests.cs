using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineProductTests(string deviceName) : DeviceFixture(deviceName)
{
    [TestCase(ProductLayout.InputByGradient, 1f, 0f)]
    [TestCase(ProductLayout.GradientByInput, 1f, 0f)]
    [TestCase(ProductLayout.InputByGradient, -0.5f, 0.75f)]
    [TestCase(ProductLayout.GradientByInput, 2f, -1f)]
    public void Float32_product_matches_the_CPU(ProductLayout layout, float a, float c) =>
        CompareWithCpu<float, float, float>(240, 20, 12, new PammOptions { K = 15, Seed = 2 }, layout, a, c);

    [TestCase(ProductLayout.InputByGradient, 0f)]
    [TestCase(ProductLayout.GradientByInput, 0.5f)]
    public void Half_product_matches_the_CPU(ProductLayout layout, float c) =>
        CompareWithCpu<Half, Half, Half>(200, 16, 24, new PammOptions { K = 9, Seed = 4 }, layout, 1f, c);

    [TestCase(ProductLayout.InputByGradient, 0f)]
    [TestCase(ProductLayout.GradientByInput, 1f)]
    public void BFloat16_product_matches_the_CPU(ProductLayout layout, float c) =>
        CompareWithCpu<BFloat16, BFloat16, BFloat16>(200, 16, 24, new PammOptions { K = 9, Seed = 4 }, layout, 1f, c);

    [Test]
    public void Mixed_dtypes_match_the_CPU()
    {
        CompareWithCpu<BFloat16, Half, float>(150, 9, 13, new PammOptions { K = 7, Seed = 6 }, ProductLayout.InputByGradient, 1f, 0.25f);
        CompareWithCpu<float, BFloat16, Half>(150, 9, 13, new PammOptions { K = 7, Seed = 6, Epsilon = 0.6 }, ProductLayout.GradientByInput, 1.5f, 0f);
    }

    [TestCase(1, 1, 1, 1)]
    [TestCase(7, 3, 5, 2)]
    [TestCase(33, 7, 33, 4)]
    [TestCase(1000, 33, 7, 31)]
    [TestCase(300, 5, 1025, 300)]
    public void Odd_shapes_match_the_CPU(int rows, int columns, int gradientColumns, int k)
    {
        CompareWithCpu<float, float, float>(rows, columns, gradientColumns, new PammOptions { K = k, Seed = 13 }, ProductLayout.InputByGradient, 1f, 0.5f);
        CompareWithCpu<Half, Half, Half>(rows, columns, gradientColumns, new PammOptions { K = k, Seed = 13 }, ProductLayout.GradientByInput, 1f, 0f);
    }

    // The grouping and the reduction split rows into sort tiles (512+ rows) and reduction chunks (32 sorted rows):
    // groups much longer than a chunk, many groups per chunk, two radix passes (k > 256), partial tiles and chunks,
    // and gradient widths that are not a multiple of a 128-bit load.
    [TestCase(5000, 3, 40)]
    [TestCase(5000, 700, 37)]
    [TestCase(1537, 257, 8)]
    public void Many_tiles_chunks_and_groups_match_the_CPU(int rows, int k, int gradientColumns)
    {
        CompareWithCpu<float, float, float>(rows, 6, gradientColumns, new PammOptions { K = k, Seed = 21 }, ProductLayout.InputByGradient, 1f, 0f);
        CompareWithCpu<BFloat16, BFloat16, float>(rows, 6, gradientColumns, new PammOptions { K = k, Seed = 22 }, ProductLayout.GradientByInput, 1f, 0f);
    }

    [Test]
    public void All_generators_give_the_exact_product()
    {
        const int rows = 64, columns = 12, m = 10;
        var x = EngineTestData.Random<float>(rows, columns, 1);
        var g = EngineTestData.Random<float>(rows, m, 2);
        using var engine = new PammEngine(Device, new PammOptions { Ratio = 1 });
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var approximate = Device.Allocate<float>(columns * m);
        using var exact = Device.Allocate<float>(columns * m);
        using var compressed = engine.Compress(input, rows, columns);
        engine.ApproxMatmul(compressed, gradient, m, approximate);
        engine.ExactMatmul(input, rows, columns, gradient, m, exact);
        // k = b: every row is its own generator with α = 1, so both products sum the very same float32 terms, each in an
        // order of its own (pamm_expand: one fma chain over the generators; the exact product: cuBLAS's), so they agree
        // to the rounding of two b-term sums: within 2·b·2⁻²⁴·Σ|x g| per element.
        float[] actual = approximate.ToArray(engine.Stream), expected = exact.ToArray(engine.Stream);
        for (int p = 0; p < columns; p++)
            for (int q = 0; q < m; q++)
            {
                double magnitude = 0;
                for (int i = 0; i < rows; i++) magnitude += Math.Abs((double)x[i * columns + p] * g[i * m + q]);
                Assert.That(actual[p * m + q], Is.EqualTo(expected[p * m + q]).Within(2 * rows * Math.Pow(2, -24) * magnitude), $"({p}, {q})");
            }
    }

    [Test]
    public void Exact_matmul_matches_the_CPU_in_both_layouts()
    {
        const int rows = 40, columns = 6, m = 9;
        var x = EngineTestData.Random<Half>(rows, columns, 3);
        var g = EngineTestData.Random<float>(rows, m, 4);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var gradient = Upload(g);
        foreach (var layout in new[] { ProductLayout.InputByGradient, ProductLayout.GradientByInput })
        {
            var initial = EngineTestData.Random<float>(columns, m, 5);
            using var output = Upload(initial);
            engine.ExactMatmul(input, rows, columns, gradient, m, output, layout, 2f, 0.5f);
            var expected = (float[])initial.Clone();
            CpuPamm.ExactMatmul<Half, float, float>(x, rows, columns, g, m, expected, layout, 2f, 0.5f);
            Assert.That(output.ToArray(engine.Stream), Is.EqualTo(expected).Within(1e-5f), layout.ToString());
        }
    }

    [Test]
    public void Clustered_rows_with_explicit_generators_give_the_exact_product()
    {
        // Generators with disjoint supports and integer entries; every other row is an integer multiple of one
        // generator. All sums are exact in float32, so assignment, α and product are exact.
        const int columns = 9, k = 3, rows = 30, m = 5;
        var x = new float[rows * columns];
        var random = new Random(17);
        for (int i = 0; i < rows; i++)
        {
            int cluster = i % k;
            float multiple = i < k ? 1 : random.Next(1, 4) * (random.Next(2) == 0 ? -1 : 1);
            for (int q = 0; q < 3; q++) x[i * columns + cluster * 3 + q] = multiple * (q + 1);
        }
        var g = new float[rows * m];
        for (int i = 0; i < g.Length; i++) g[i] = random.Next(-4, 5);
        using var engine = new PammEngine(Device, new PammOptions { GeneratorIndices = [0, 1, 2], Epsilon = 0 });
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var output = Device.Allocate<float>(columns * m);
        using var compressed = engine.Compress(input, rows, columns);
        engine.ApproxMatmul(compressed, gradient, m, output);
        var expected = new float[columns * m];
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, m, expected);
        Assert.Multiple(() =>
        {
            Assert.That(compressed.ReadDroppedRows(), Is.Zero);
            Assert.That(compressed.CopyAssignment(), Is.EqualTo(Enumerable.Range(0, rows).Select(i => i % k)));
            Assert.That(output.ToArray(engine.Stream), Is.EqualTo(expected));
        });
    }

    [Test]
    public void Epsilon_zero_is_uniform_column_row_sampling()
    {
        const int rows = 90, columns = 8, m = 6, k = 10;
        var x = EngineTestData.Random<float>(rows, columns, 8);
        var g = EngineTestData.Random<float>(rows, m, 9);
        using var engine = new PammEngine(Device, new PammOptions { K = k, Seed = 31, Epsilon = 0 });
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var output = Device.Allocate<float>(columns * m);
        using var compressed = engine.Compress(input, rows, columns);
        engine.ApproxMatmul(compressed, gradient, m, output);
        var actual = output.ToArray(engine.Stream);
        var sampled = Sampling.GeneratorSampler.Sample(rows, k, 31);
        for (int q = 0; q < columns; q++)
        {
            for (int p = 0; p < m; p++)
            {
                double sum = 0, magnitude = 0;
                foreach (int i in sampled)
                {
                    sum += (double)x[i * columns + q] * g[i * m + p];
                    magnitude += Math.Abs((double)x[i * columns + q] * g[i * m + p]);
                }
                double expected = sum * rows / k, tolerance = 4 * (k + 2) * Math.Pow(2, -24) * magnitude * rows / k;
                Assert.That(actual[q * m + p], Is.EqualTo(expected).Within(tolerance), $"({q}, {p})");
            }
        }
    }

    [Test]
    public void One_compression_serves_three_products()
    {
        const int rows = 160, columns = 12, m = 8;
        var options = new PammOptions { K = 11, Seed = 12 };
        var x = EngineTestData.Random<BFloat16>(rows, columns, 30);
        var cpu = CpuPamm.Compress<BFloat16>(x, rows, columns, options);
        using var engine = new PammEngine(Device, options);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns);
        var gradients = Enumerable.Range(0, 3).Select(seed => EngineTestData.Random<BFloat16>(rows, m, 100 + seed)).ToArray();
        var buffers = gradients.Select(Upload).ToArray();
        var outputs = gradients.Select(_ => Device.Allocate<float>(columns * m)).ToArray();
        try
        {
            for (int t = 0; t < 3; t++) engine.ApproxMatmul(compressed, buffers[t], m, outputs[t]);
            for (int t = 0; t < 3; t++)
            {
                var expected = new float[columns * m];
                CpuPamm.ApproxMatmul<BFloat16, BFloat16, float>(cpu, gradients[t], m, expected);
                EngineTestData.AssertProductMatchesCpu(cpu, EngineTestData.Widen<BFloat16>(gradients[t]), m, new double[columns * m],
                    outputs[t].ToArray(engine.Stream), expected, ProductLayout.InputByGradient, 1f, 0f);
            }
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
            foreach (var buffer in outputs) buffer.Dispose();
        }
    }

    [Test]
    public void Two_engines_on_two_streams_do_not_interfere()
    {
        const int rows = 128, columns = 10, m = 7;
        using var streamA = Device.CreateStream();
        using var streamB = Device.CreateStream();
        var optionsA = new PammOptions { K = 9, Seed = 1 };
        var optionsB = new PammOptions { K = 13, Seed = 2 };
        using var engineA = new PammEngine(Device, optionsA, streamA);
        using var engineB = new PammEngine(Device, optionsB, streamB);
        var xA = EngineTestData.Random<float>(rows, columns, 40);
        var xB = EngineTestData.Random<float>(rows, columns, 41);
        var g = EngineTestData.Random<float>(rows, m, 42);
        using var inputA = Upload(xA);
        using var inputB = Upload(xB);
        using var gradient = Upload(g);
        using var outputA = Device.Allocate<float>(columns * m);
        using var outputB = Device.Allocate<float>(columns * m);
        using var compressedA = engineA.Compress(inputA, rows, columns);
        using var compressedB = engineB.Compress(inputB, rows, columns);
        engineA.ApproxMatmul(compressedA, gradient, m, outputA);
        engineB.ApproxMatmul(compressedB, gradient, m, outputB);

        foreach (var (x, options, output, engine) in new[] { (xA, optionsA, outputA, engineA), (xB, optionsB, outputB, engineB) })
        {
            var cpu = CpuPamm.Compress<float>(x, rows, columns, options);
            var expected = new float[columns * m];
            CpuPamm.ApproxMatmul<float, float, float>(cpu, g, m, expected);
            EngineTestData.AssertProductMatchesCpu(cpu, EngineTestData.Widen<float>(g), m, new double[columns * m],
                output.ToArray(engine.Stream), expected, ProductLayout.InputByGradient, 1f, 0f);
        }
    }

    [Test]
    public void Products_are_bitwise_deterministic()
    {
        const int rows = 400, columns = 24, m = 40;
        var x = EngineTestData.Random<float>(rows, columns, 50);
        var g = EngineTestData.Random<Half>(rows, m, 51);
        using var engine = new PammEngine(Device, new PammOptions { K = 13, Seed = 9 });
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var output = Device.Allocate<float>(columns * m);
        var results = new List<uint[]>();
        for (int run = 0; run < 2; run++)
        {
            using var compressed = engine.Compress(input, rows, columns);
            engine.ApproxMatmul(compressed, gradient, m, output, ProductLayout.GradientByInput);
            results.Add(output.ToArray(engine.Stream).Select(BitConverter.SingleToUInt32Bits).ToArray());
        }
        Assert.That(results[1], Is.EqualTo(results[0]));
    }

    [Test]
    public void NaN_rows_reach_the_product_as_on_the_CPU()
    {
        const int rows = 48, columns = 6, m = 5;
        var x = EngineTestData.Random<float>(rows, columns, 60);
        for (int q = 0; q < columns; q++) { x[5 * columns + q] = float.NaN; x[6 * columns + q] = 0f; }
        var g = EngineTestData.Random<float>(rows, m, 61);
        var options = new PammOptions { K = 6, Seed = 3 };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var output = Device.Allocate<float>(columns * m);
        using var compressed = engine.Compress(input, rows, columns);
        engine.ApproxMatmul(compressed, gradient, m, output);
        var cpu = CpuPamm.Compress<float>(x, rows, columns, options);
        var expected = new float[columns * m];
        CpuPamm.ApproxMatmul<float, float, float>(cpu, g, m, expected);
        var actual = output.ToArray(engine.Stream);
        Assert.That(actual.Select(float.IsNaN), Is.EqualTo(expected.Select(float.IsNaN)));
        Assert.That(expected.Any(float.IsNaN), Is.True, "the NaN row must reach the product");
    }

    private void CompareWithCpu<T, TG, TOut>(int rows, int columns, int m, PammOptions options, ProductLayout layout, float a, float c)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        var x = EngineTestData.Random<T>(rows, columns, rows + 7 * columns);
        var g = EngineTestData.Random<TG>(rows, m, rows + 11 * m);
        var initial = EngineTestData.Random<TOut>(columns, m, 99);
        var cpu = CpuPamm.Compress<T>(x, rows, columns, options);
        var expected = (TOut[])initial.Clone();
        CpuPamm.ApproxMatmul(cpu, g, m, expected, layout, a, c);

        using var engine = new PammEngine(Device, options);
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var output = Upload(initial);
        using var compressed = engine.Compress(input, rows, columns);
        engine.ApproxMatmul(compressed, gradient, m, output, layout, a, c);
        Assert.That(compressed.CopyAssignment(), Is.EqualTo(Enumerable.Range(0, rows).Select(cpu.AssignmentOf)),
            "random data has no near-ties, so the assignments agree");
        EngineTestData.AssertProductMatchesCpu(cpu, EngineTestData.Widen<TG>(g), m, EngineTestData.Widen<TOut>(initial),
            output.ToArray(engine.Stream), expected, layout, a, c);
    }
}
