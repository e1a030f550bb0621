using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Cpu;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// Generator refinement (<see cref="PammOptions.RefineGenerators"/>) on the device: the CPU backend's values where every
/// step is exact, its values within float32's and the dtype's rounding on random data, f, η and the norms kept, the
/// product's error lower, and the same bits run after run.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineRefinementTests(string deviceName) : DeviceFixture(deviceName)
{
    [TestCase(DType.Float32)]
    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void An_exact_example_gives_the_cpu_backends_values(DType dtype)
    {
        switch (dtype)
        {
            case DType.Float32: AssertSmallExample<float>(); break;
            case DType.Float16: AssertSmallExample<Half>(); break;
            default: AssertSmallExample<BFloat16>(); break;
        }
    }

    private void AssertSmallExample<T>() where T : unmanaged
    {
        T[] x = CpuTestData.RefinementExample.Select(ElementConvert.FromSingle<T>).ToArray();
        var options = CpuTestData.RefinementExampleOptions;
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, 7, 3, options);
        var cpu = CpuPamm.Compress<T>(x, 7, 3, options);
        Assert.Multiple(() =>
        {
            Assert.That(compressed.CopyGenerators<T>().Select(ElementConvert.ToSingle), Is.EqualTo(CpuTestData.RefinementExampleGenerators));
            Assert.That(compressed.CopyAlpha(), Is.EqualTo(CpuTestData.RefinementExampleAlpha));
            Assert.That(compressed.CopyAlpha(), Is.EqualTo(cpu.Alpha.ToArray()));
            Assert.That(compressed.CopyAssignment(), Is.EqualTo(new[] { 0, 0, 0, 0, 1, 0, 1 }));
        });
    }

    [TestCase(DType.Float32, 0.8)]
    [TestCase(DType.BFloat16, double.PositiveInfinity)]
    [TestCase(DType.Float16, double.PositiveInfinity)]
    public void Random_data_agrees_with_the_cpu_backend_within_rounding(DType dtype, double epsilon)
    {
        switch (dtype)
        {
            case DType.Float32: AssertAgreesWithCpu<float>(epsilon); break;
            case DType.Float16: AssertAgreesWithCpu<Half>(epsilon); break;
            default: AssertAgreesWithCpu<BFloat16>(epsilon); break;
        }
    }

    // Both backends sum D_j = Σ α_i X_i over the same g_j rows in other orders (and the device with α rounded to X's dtype),
    // so an element of D differs by at most (2(g_j + 2)u₃₂ + u_T)·Σ|α_i X_ip|; the scale carries it to C_j, each side
    // rounds C_j once more (one ulp of T between them at most), and α_i = ⟨X_i, C_j⟩/‖C_j‖² moves by what C_j moved
    // (through the dot and the norm) plus two float32 dot products of n terms and, stored as bfloat16, one ulp.
    private void AssertAgreesWithCpu<T>(double epsilon) where T : unmanaged
    {
        const int rows = 1200, columns = 40;
        var x = EngineTestData.Random<T>(rows, columns, 31);
        var options = new PammOptions { K = 24, Seed = 8, Epsilon = epsilon, RefineGenerators = true };
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns, options);
        var cpu = CpuPamm.Compress<T>(x, rows, columns, options);
        var plainCpu = CpuPamm.Compress<T>(x, rows, columns, options with { RefineGenerators = false });
        var widened = EngineTestData.Widen<T>(x);
        double u = EngineTestData.UnitRoundoff(DType.Float32), uT = EngineTestData.UnitRoundoff(DTypes.Of<T>());
        var gpuGenerators = EngineTestData.Widen<T>(compressed.CopyGenerators<T>());
        var cpuGenerators = EngineTestData.Widen<T>(cpu.Generators);
        var assignment = compressed.CopyAssignment();
        Assert.That(assignment, Is.EqualTo(Enumerable.Range(0, rows).Select(cpu.AssignmentOf)), "f (random data has no near-ties here)");
        var generatorBound = new double[options.K!.Value];
        for (int j = 0; j < generatorBound.Length; j++)
        {
            var members = Enumerable.Range(0, rows).Where(i => assignment[i] == j).ToArray();
            double norm = Norm(cpuGenerators.AsSpan(j * columns, columns));
            var sum = new double[columns];
            foreach (int i in members)
                for (int p = 0; p < columns; p++) sum[p] += plainCpu.Alpha[i] * widened[i * columns + p];
            double sumNorm = Norm(sum);
            double absoluteSums = members.Sum(i => Math.Abs(plainCpu.Alpha[i]) * Norm(widened.AsSpan(i * columns, columns)));
            generatorBound[j] = 2 * (2 * (members.Length + 2) * u + uT) * absoluteSums * norm / sumNorm + 2 * uT * norm;
            double difference = Norm(Subtract(gpuGenerators.AsSpan(j * columns, columns), cpuGenerators.AsSpan(j * columns, columns)));
            Assert.That(difference, Is.LessThanOrEqualTo(generatorBound[j]), $"‖ΔC_{j}‖");
        }
        var gpuAlpha = compressed.CopyAlpha();
        double alphaUlp = cpu.AlphaType == DType.BFloat16 ? Math.Pow(2, -7) : 0;
        Assert.Multiple(() =>
        {
            Assert.That(compressed.ReadDroppedRows(), Is.EqualTo(cpu.DroppedRows));
            for (int i = 0; i < rows; i++)
            {
                int j = assignment[i];
                var generator = cpuGenerators.AsSpan(j * columns, columns);
                double norm2 = Dot(generator, generator), rowNorm = Norm(widened.AsSpan(i * columns, columns));
                double moved = generatorBound[j] * (rowNorm / norm2 + 2 * Math.Abs(cpu.Alpha[i]) / Math.Sqrt(norm2));
                double bound = 2 * moved + 4 * (columns + 2) * u * rowNorm / Math.Sqrt(norm2) + (4 * u + alphaUlp) * Math.Abs(cpu.Alpha[i]);
                Assert.That(gpuAlpha[i], Is.EqualTo(cpu.Alpha[i]).Within(bound), $"α of row {i}");
            }
        });
    }

    [Test]
    public void Refinement_keeps_f_eta_and_the_norms_and_lowers_the_products_error()
    {
        const int rows = 2048, columns = 48, gradientColumns = 32;
        float[] x = CpuTestData.Clustered(rows, columns, 12, 0.4, 70), g = CpuTestData.Gaussian(rows, gradientColumns, 71);
        var options = new PammOptions { K = 16, Seed = 5, Epsilon = 0.8 };
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var plain = engine.Compress(input, rows, columns, options);
        using var refined = engine.Compress(input, rows, columns, options with { RefineGenerators = true });
        double[] exact = CpuTestData.Product(x, rows, columns, g, gradientColumns);
        var plainGenerators = plain.CopyGenerators<float>();
        var refinedGenerators = refined.CopyGenerators<float>();
        Assert.Multiple(() =>
        {
            Assert.That(refined.CopyAssignment(), Is.EqualTo(plain.CopyAssignment()));
            Assert.That(refined.ReadDroppedRows(), Is.EqualTo(plain.ReadDroppedRows()).And.Positive);
            var plainAlpha = plain.CopyAlpha();
            var refinedAlpha = refined.CopyAlpha();
            for (int i = 0; i < rows; i++)
                if (plainAlpha[i] == 0f) Assert.That(refinedAlpha[i], Is.Zero, $"row {i} was dropped");
            for (int j = 0; j < 16; j++)
                Assert.That(Norm(EngineTestData.Widen<float>(refinedGenerators.AsSpan(j * columns, columns))),
                    Is.EqualTo(Norm(EngineTestData.Widen<float>(plainGenerators.AsSpan(j * columns, columns)))).Within(2 * (columns + 4) * Math.Pow(2, -24) * 100).Percent,
                    $"‖C_{j}‖");
            double before = CpuTestData.RelativeFrobeniusError(Product(engine, plain, gradient, columns, gradientColumns), exact);
            double after = CpuTestData.RelativeFrobeniusError(Product(engine, refined, gradient, columns, gradientColumns), exact);
            Assert.That(after, Is.LessThan(before), "‖Õ − XᵀG‖ / ‖XᵀG‖");
        });
    }

    [Test]
    public void Groups_holding_nan_keep_their_generator_as_on_the_cpu()
    {
        const int rows = 50, columns = 8;
        var (x, options) = EngineTestData.ZeroAndNaNRows(rows, columns);
        options = options with { RefineGenerators = true };
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns, options);
        var cpu = CpuPamm.Compress<float>(x, rows, columns, options);
        var plain = CpuPamm.Compress<float>(x, rows, columns, options with { RefineGenerators = false });
        var generators = compressed.CopyGenerators<float>();
        var alpha = compressed.CopyAlpha();
        Assert.Multiple(() =>
        {
            int kept = 0;
            for (int j = 0; j < cpu.K; j++)
            {
                var cpuGenerator = cpu.Generators.Slice(j * columns, columns).ToArray();
                if (!CpuTestData.Bits(cpuGenerator).SequenceEqual(CpuTestData.Bits(plain.Generators.Slice(j * columns, columns).ToArray())))
                    continue;
                kept++;
                Assert.That(CpuTestData.Bits(generators.AsSpan(j * columns, columns).ToArray()), Is.EqualTo(CpuTestData.Bits(cpuGenerator)),
                    $"C_{j} is kept on the CPU, so on the device too");
            }
            Assert.That(kept, Is.GreaterThanOrEqualTo(2), "the NaN row's group and the zero generator's are kept");
            Assert.That(kept, Is.LessThan(cpu.K), "the other groups are refined");
            for (int i = 0; i < rows; i++)
                Assert.That(float.IsNaN(alpha[i]), Is.EqualTo(float.IsNaN(cpu.Alpha[i])), $"α of row {i} is NaN on both or neither");
        });
    }

    [Test]
    public void The_dense_assignment_in_row_chunks_adds_up_to_the_whole()
    {
        // Compressions split their rows into chunks only past 16 Mi similarities, too many for the emulator: the pass's
        // stage is run here with small chunks on a plain compression, against one chunk of every row.
        const int rows = 600, columns = 20, k = 12;
        var options = new PammOptions { K = k, Seed = 4 };
        var x = EngineTestData.Random<float>(rows, columns, 43);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, DType.Float32));
        using var workspace = Device.Allocate<byte>(PammEngine.CompressWorkspaceBytes(rows, columns, k));
        var scratch = CompressWorkspace.At(workspace.Address, rows, columns, k);
        (float[] Generators, float[] Alpha) RefineInChunks(int chunkRows)
        {
            using var compressed = engine.CompressInto(input, rows, columns, options, storage, workspace);
            engine.PrepareCompress(input.Address, CompressedParts.Of(compressed), options, scratch).RefineGenerators(scratch.Similarities, chunkRows);
            return (compressed.CopyGenerators<float>(), compressed.CopyAlpha());
        }
        var whole = RefineInChunks(rows);
        var chunked = RefineInChunks(77);
        using var reference = engine.Compress(input, rows, columns, options with { RefineGenerators = true });
        Assert.Multiple(() =>
        {
            Assert.That(CpuTestData.Bits(whole.Generators), Is.EqualTo(CpuTestData.Bits(reference.CopyGenerators<float>())), "one chunk is the engine's path");
            Assert.That(CpuTestData.Bits(whole.Alpha), Is.EqualTo(CpuTestData.Bits(reference.CopyAlpha())));
            // The same sums of at most 600 float32 terms, grouped by chunk: within a few float32 roundings of each other.
            for (int i = 0; i < whole.Generators.Length; i++)
                Assert.That(chunked.Generators[i], Is.EqualTo(whole.Generators[i]).Within(1e-5 * (1 + Math.Abs(whole.Generators[i]))), $"C element {i}");
            for (int i = 0; i < rows; i++)
                Assert.That(chunked.Alpha[i], Is.EqualTo(whole.Alpha[i]).Within(1e-4 * (1 + Math.Abs(whole.Alpha[i]))), $"α of row {i}");
            Assert.That(chunked.Generators, Is.Not.EqualTo(SampledGenerators(x, options, columns)), "refined, not the sampled rows");
        });
    }

    private static float[] SampledGenerators(float[] x, PammOptions options, int columns) =>
        CpuPamm.Compress<float>(x, x.Length / columns, columns, options).Generators.ToArray();

    [Test]
    public void The_same_input_gives_the_same_bits_run_after_run()
    {
        const int rows = 3000, columns = 64;
        var x = EngineTestData.Random<BFloat16>(rows, columns, 33);
        var options = new PammOptions { K = 20, Seed = 3, RefineGenerators = true, AlphaType = DType.BFloat16 };
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var first = engine.Compress(input, rows, columns, options);
        using var second = engine.Compress(input, rows, columns, options);
        Assert.Multiple(() =>
        {
            Assert.That(second.CopyGenerators<BFloat16>(), Is.EqualTo(first.CopyGenerators<BFloat16>()));
            Assert.That(CpuTestData.Bits(second.CopyAlpha()), Is.EqualTo(CpuTestData.Bits(first.CopyAlpha())));
        });
    }

    private float[] Product(PammEngine engine, GpuCompressedActivation compressed, DeviceBuffer<float> gradient, int columns, int gradientColumns)
    {
        using var output = Device.Allocate<float>(columns * gradientColumns);
        engine.ApproxMatmul(compressed, gradient, gradientColumns, output);
        return output.ToArray();
    }

    private static double[] Subtract(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var result = new double[a.Length];
        for (int p = 0; p < a.Length; p++) result[p] = a[p] - b[p];
        return result;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int p = 0; p < a.Length; p++) sum += a[p] * b[p];
        return sum;
    }

    private static double Norm(ReadOnlySpan<double> values) => Math.Sqrt(Dot(values, values));
}
