using PammCuda.Engine;
using PammCuda.Sampling;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// Both sampling paths against <see cref="GeneratorSampler"/>: the one-block kernel up to
/// <see cref="PammKernels.SampleBlockRows"/> rows and the multi-block kernels above (sizes around the switch-over, the
/// 2048-row tiles and the 256-thread key blocks, k at both ends, and b large enough that several tiles and a crowded
/// 16-bit bucket take part), and which path a size takes.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineSamplingTests(string deviceName) : DeviceFixture(deviceName)
{
    private static readonly ulong[] Seeds = [0UL, 0x9E37_79B9_7F4A_7C15UL, ulong.MaxValue];

    /// <summary>b on both sides of the switch-over (and the one block's ends: one row, one warp, one key per thread), every k edge.</summary>
    public static IEnumerable<TestCaseData> AroundTheSwitchOver()
    {
        int block = PammKernels.SampleBlockRows;
        int[] sizes = [1, 2, 3, 64, 65, 1000, 1024, 1025, block / 2 + 1, block - 1, block, block + 1, block + 2048, 2 * block + 3];
        foreach (int rows in sizes)
            foreach (int k in new[] { 1, 2, 5, rows / 2, rows - 1, rows }.Where(k => k >= 1 && k <= rows).Distinct())
                foreach (ulong seed in Seeds)
                    yield return new TestCaseData(rows, k, seed);
    }

    [TestCaseSource(nameof(AroundTheSwitchOver))]
    public void Both_paths_pick_the_same_rows_as_the_CPU_around_the_switch_over(int rows, int k, ulong seed)
    {
        using var engine = new PammEngine(Device);
        using var generators = engine.SampleGenerators(rows, k, seed);
        Assert.That(generators.ToArray(engine.Stream), Is.EqualTo(GeneratorSampler.Sample(rows, k, seed)));
    }

    [Test]
    public void Up_to_one_blocks_rows_sampling_is_one_launch_and_above_it_three()
    {
        int block = PammKernels.SampleBlockRows;
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, new PammOptions(), stream);
        // The bucket and the threshold are found by the last block of the kernel before each: no single-block launches.
        string[] multiBlock = ["pamm_sample_keys", "pamm_sample_candidates", "pamm_sample_scatter"];
        (int Rows, string[] Launches)[] cases = [(1, ["pamm_sample_block"]), (block, ["pamm_sample_block"]), (block + 1, multiBlock)];
        foreach (var (rows, expected) in cases)
        {
            stream.ClearLaunches();
            using var generators = engine.SampleGenerators(rows, Math.Max(1, rows / 512), 3UL);
            Assert.Multiple(() =>
            {
                Assert.That(stream.Launches, Is.EqualTo(expected), $"b = {rows}");
                Assert.That(PammKernels.SamplingPathFor(rows), Is.EqualTo(expected.Length == 1 ? SamplingPath.OneBlock : SamplingPath.MultiBlock), $"b = {rows}");
                // The one-block kernel needs no scratch, so a compression of such a b reserves none for sampling.
                Assert.That(PammKernels.SamplingScratchBytes(rows), expected.Length == 1 ? Is.Zero : Is.Positive, $"b = {rows}");
            });
        }
    }

    // The multi-block kernels still take any b: their small-b edges (one partial tile, one row) checked on their own.
    [TestCase(1, 1, 7UL)]
    [TestCase(2, 2, 7UL)]
    [TestCase(255, 1, 1UL)]
    [TestCase(2047, 1000, 3UL)]
    [TestCase(2048, 2048, 4UL)]
    [TestCase(2049, 2048, 5UL)]
    [TestCase(6145, 6144, 6UL)]
    [TestCase(8192, 4096, 8UL)]
    public void The_multi_block_path_below_the_switch_over_picks_the_same_rows_as_the_CPU(int rows, int k, ulong seed)
    {
        using var scratch = Device.Allocate<byte>(PammKernels.SamplingScratchBytes(rows, SamplingPath.MultiBlock));
        using var generators = Device.Allocate<int>(k);
        PammKernels.SampleGenerators(Device.DefaultStream, scratch.Address, rows, k, seed, generators.Address, SamplingPath.MultiBlock);
        Assert.That(generators.ToArray(Device.DefaultStream), Is.EqualTo(GeneratorSampler.Sample(rows, k, seed)));
    }

    [Test]
    public void One_block_refuses_more_rows_than_it_holds()
    {
        using var generators = Device.Allocate<int>(1);
        Assert.That(() => PammKernels.SampleGenerators(Device.DefaultStream, 0UL, PammKernels.SampleBlockRows + 1, 1, 0UL, generators.Address,
            SamplingPath.OneBlock), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rows"));
    }

    [Test]
    public void A_compression_of_a_small_b_samples_in_one_launch()
    {
        const int rows = 300, columns = 8;
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, new PammOptions { K = 9, Seed = 5 }, stream);
        using var input = Upload(EngineTestData.Random<float>(rows, columns, 1));
        using var compressed = engine.Compress(input, rows, columns);
        Assert.That(stream.Launches.Where(name => name.StartsWith("pamm_sample_", StringComparison.Ordinal)), Is.EqualTo(new[] { "pamm_sample_block" }));
    }

    [TestCase(1, 1, 7UL)]
    [TestCase(2, 1, 7UL)]
    [TestCase(2, 2, 7UL)]
    [TestCase(255, 1, 1UL)]
    [TestCase(257, 257, 2UL)]
    [TestCase(2047, 1000, 3UL)]
    [TestCase(2048, 2048, 4UL)]
    [TestCase(2049, 2048, 5UL)]
    [TestCase(6145, 1, 6UL)]
    [TestCase(6145, 6144, 6UL)]
    [TestCase(100_000, 1, 11UL)]
    [TestCase(100_000, 195, 12UL)]
    [TestCase(100_000, 50_000, 13UL)]
    [TestCase(100_000, 100_000, 14UL)]
    [TestCase(100_001, 99_999, ulong.MaxValue)]
    public void Picks_the_same_rows_as_the_CPU(int rows, int k, ulong seed)
    {
        using var engine = new PammEngine(Device);
        using var generators = engine.SampleGenerators(rows, k, seed);
        Assert.That(generators.ToArray(engine.Stream), Is.EqualTo(GeneratorSampler.Sample(rows, k, seed)));
    }

    [Test]
    public void Several_seeds_on_several_tiles_match_the_CPU([Values(0UL, 1UL, 42UL, 0xdead_beef_0000_0001UL, 0x8000_0000_0000_0000UL)] ulong seed)
    {
        const int rows = 70_001, k = 137;
        using var engine = new PammEngine(Device);
        using var generators = engine.SampleGenerators(rows, k, seed);
        Assert.That(generators.ToArray(engine.Stream), Is.EqualTo(GeneratorSampler.Sample(rows, k, seed)));
    }

    [Test]
    public void A_crowded_top_bucket_is_ranked_by_the_whole_key()
    {
        // 2²¹ rows put about 32 rows in every 16-bit bucket, so the threshold bucket's rows must be
        // told apart by their lower 48 bits.
        const int rows = 1 << 21, k = 1 << 20;
        using var engine = new PammEngine(Device);
        using var generators = engine.SampleGenerators(rows, k, 99UL);
        Assert.That(generators.ToArray(engine.Stream), Is.EqualTo(GeneratorSampler.Sample(rows, k, 99UL)));
    }

    [Test]
    public void Repeated_and_interleaved_calls_reuse_scratch_and_give_the_same_rows()
    {
        using var engine = new PammEngine(Device);
        using var large = engine.SampleGenerators(50_000, 300, 5UL);
        using var small = engine.SampleGenerators(3, 2, 5UL);
        using var again = engine.SampleGenerators(50_000, 300, 5UL);
        Assert.Multiple(() =>
        {
            Assert.That(again.ToArray(engine.Stream), Is.EqualTo(large.ToArray(engine.Stream)));
            Assert.That(small.ToArray(engine.Stream), Is.EqualTo(GeneratorSampler.Sample(3, 2, 5UL)));
        });
    }
}
