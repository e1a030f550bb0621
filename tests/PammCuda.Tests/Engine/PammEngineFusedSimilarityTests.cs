using PammCuda.Cpu;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// The fused similarity kernel (<see cref="SimilarityPath.Fused"/>) against the GEMM path and the CPU backend: the
/// same generators, η and stored bytes, the same f except at near-ties and α within float32 tolerance.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineFusedSimilarityTests(string deviceName) : DeviceFixture(deviceName)
{
    // The kernel's tiles: 32 rows per block, 64 generators and 32 columns per shared-memory tile.
    private const int TileGenerators = 64, TileColumns = 32;

    private static IEnumerable<TestCaseData> Shapes()
    {
        (int Rows, int Columns, int K)[] shapes =
        [
            (1, 1, 1),
            (7, 3, 2),
            (33, 7, 4),
            (1000, 33, 31),
            (257, TileColumns + 13, TileGenerators * 2 + 3),
            (96, 2 * TileColumns, TileGenerators),
        ];
        foreach (var dtype in new[] { DType.Float32, DType.Float16, DType.BFloat16 })
        {
            foreach (var (rows, columns, k) in shapes)
                yield return new TestCaseData(dtype, rows, columns, k).SetName($"Fused_path_matches_GEMM_path_and_CPU({dtype.ShortName()}, {rows}×{columns}, k = {k})");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Fused_path_matches_GEMM_path_and_CPU(DType dtype, int rows, int columns, int k)
    {
        var options = new PammOptions { K = k, Seed = 13 };
        switch (dtype)
        {
            case DType.Float32: CompareWithGemmAndCpu<float>(rows, columns, options); break;
            case DType.Float16: CompareWithGemmAndCpu<Half>(rows, columns, options); break;
            default: CompareWithGemmAndCpu<BFloat16>(rows, columns, options); break;
        }
    }

    [TestCase(0.0)]
    [TestCase(0.5)]
    public void Neighbourhood_condition_drops_the_same_rows_as_the_GEMM_path_and_CPU(double epsilon)
    {
        // Few columns, so that a good share of rows passes ε = 0.5 and a good share fails it.
        CompareWithGemmAndCpu<float>(400, 3, new PammOptions { K = 20, Seed = 8, Epsilon = epsilon });
        CompareWithGemmAndCpu<BFloat16>(300, 70, new PammOptions { K = 70, Seed = 2, Epsilon = epsilon });
    }

    [Test]
    public void Epsilon_zero_keeps_only_the_generators()
    {
        const int rows = 120, columns = 10, k = 12;
        var x = EngineTestData.Random<float>(rows, columns, 4);
        using var engine = FusedEngine(new PammOptions { K = k, Epsilon = 0, Seed = 77 });
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns);
        var sampled = Sampling.GeneratorSampler.Sample(rows, k, 77).ToHashSet();
        var alpha = compressed.CopyAlpha();
        Assert.Multiple(() =>
        {
            Assert.That(compressed.ReadDroppedRows(), Is.EqualTo(rows - k));
            for (int i = 0; i < rows; i++) Assert.That(alpha[i], Is.EqualTo(sampled.Contains(i) ? 1f : 0f), $"row {i}");
        });
    }

    [Test]
    public void Zero_and_NaN_rows_follow_the_CPU_rules()
    {
        const int rows = 64, columns = 40;
        var (x, options) = EngineTestData.ZeroAndNaNRows(rows, columns);
        using var engine = FusedEngine(options);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns);
        var cpu = CpuPamm.Compress<float>(x, rows, columns, options);

        var assignment = compressed.CopyAssignment();
        var alpha = compressed.CopyAlpha();
        Assert.Multiple(() =>
        {
            Assert.That(assignment[3], Is.EqualTo(1), "a zero generator row is its own generator");
            Assert.That(alpha[3], Is.EqualTo(1f));
            Assert.That(assignment[20], Is.EqualTo(2), "a NaN generator row is its own generator");
            Assert.That(alpha[20], Is.EqualTo(1f));
            Assert.That(alpha[10], Is.EqualTo(0f), "a zero row has α = 0");
            Assert.That(compressed.ReadDroppedRows(), Is.EqualTo(cpu.DroppedRows));
            for (int i = 0; i < rows; i++)
            {
                Assert.That(assignment[i], Is.EqualTo(cpu.AssignmentOf(i)), $"f of row {i}");
                Assert.That(float.IsNaN(alpha[i]), Is.EqualTo(float.IsNaN(cpu.Alpha[i])), $"NaN-ness of α, row {i}");
            }
        });
    }

    [Test]
    public void Explicit_generators_beyond_one_tile_are_used_in_the_given_order()
    {
        const int rows = 300, columns = 9;
        // Descending, so generator j is not row order, and more of them than one shared-memory tile holds.
        int[] generatorRows = [.. Enumerable.Range(0, TileGenerators + 6).Select(j => rows - 1 - 4 * j)];
        var options = new PammOptions { GeneratorIndices = generatorRows, Epsilon = 0.9 };
        var x = EngineTestData.Random<float>(rows, columns, 17);
        using var engine = FusedEngine(options);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, rows, columns);
        var cpu = CpuPamm.Compress<float>(x, rows, columns, options);
        var assignment = compressed.CopyAssignment();
        Assert.Multiple(() =>
        {
            for (int j = 0; j < generatorRows.Length; j++) Assert.That(assignment[generatorRows[j]], Is.EqualTo(j), $"generator {j}");
        });
        CompressionComparison.AssertAgree(x, rows, columns, CompressionResult.Of<float>(compressed), CompressionResult.Of(cpu));
    }

    [Test]
    public void Fused_path_is_bitwise_deterministic()
    {
        const int rows = 500, columns = 70;
        var x = EngineTestData.Random<BFloat16>(rows, columns, 21);
        using var engine = FusedEngine(new PammOptions { K = 90, Seed = 5, Epsilon = 0.8 });
        using var input = Upload(x);
        using var first = engine.Compress(input, rows, columns);
        using var second = engine.Compress(input, rows, columns);
        Assert.Multiple(() =>
        {
            Assert.That(second.CopyAssignment(), Is.EqualTo(first.CopyAssignment()));
            Assert.That(second.CopyAlpha().Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(first.CopyAlpha().Select(BitConverter.SingleToUInt32Bits)));
            Assert.That(second.ReadDroppedRows(), Is.EqualTo(first.ReadDroppedRows()));
        });
    }

    [Test]
    public void Undefined_similarity_path_is_rejected()
    {
        using var engine = new PammEngine(Device);
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => engine.SimilarityPath = (SimilarityPath)7)!;
        Assert.That(exception.ParamName, Is.EqualTo("value"));
        Assert.That(engine.SimilarityPath, Is.EqualTo(SimilarityPath.Gemm), "the default until a GPU measurement says otherwise");
    }

    private PammEngine FusedEngine(PammOptions options) => new(Device, options) { SimilarityPath = SimilarityPath.Fused };

    private void CompareWithGemmAndCpu<T>(int rows, int columns, PammOptions options) where T : unmanaged
    {
        var x = EngineTestData.Random<T>(rows, columns, rows * 31 + columns);
        using var input = Upload(x);
        using var fusedEngine = FusedEngine(options);
        using var gemmEngine = new PammEngine(Device, options) { SimilarityPath = SimilarityPath.Gemm };
        using var fused = fusedEngine.Compress(input, rows, columns);
        using var gemm = gemmEngine.Compress(input, rows, columns);
        var fusedResult = CompressionResult.Of<T>(fused);
        int versusGemm = CompressionComparison.AssertAgree(x, rows, columns, fusedResult, CompressionResult.Of<T>(gemm));
        int versusCpu = CompressionComparison.AssertAgree(x, rows, columns, fusedResult, CompressionResult.Of(CpuPamm.Compress<T>(x, rows, columns, options)));
        TestContext.Out.WriteLine($"{rows}×{columns} {typeof(T).Name}, k = {fused.K}, η = {fused.ReadDroppedRows()}: near-ties {versusGemm} vs GEMM, {versusCpu} vs CPU");
    }
}
