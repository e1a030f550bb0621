using PammCuda.Engine;
using PammCuda.Sampling;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// The multi-block sampling kernels against <see cref="GeneratorSampler"/>: sizes around the 2048-row
/// tiles and the 256-thread key blocks, k at both ends, and b large enough that several tiles and
/// a crowded 16-bit bucket take part.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineSamplingTests(string deviceName) : DeviceFixture(deviceName)
{
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
