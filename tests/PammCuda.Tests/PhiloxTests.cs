using PammCuda.Sampling;

namespace PammCuda.Tests;

public class PhiloxTests
{
    // Known-answer vectors of Random123 (kat_vectors, philox4x32_10).
    [Test]
    public void Philox4x32_10_matches_Random123_known_answers()
    {
        Assert.That(Philox4x32.Generate(0, 0, 0, 0, 0, 0), Is.EqualTo((0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)));
        Assert.That(Philox4x32.Generate(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
            Is.EqualTo((0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)));
        Assert.That(Philox4x32.Generate(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0),
            Is.EqualTo((0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)));
    }

    [Test]
    public void Sample_returns_k_distinct_ascending_rows_and_is_reproducible()
    {
        var a = GeneratorSampler.Sample(1000, 37, 42);
        Assert.That(a, Has.Length.EqualTo(37));
        Assert.That(a, Is.Ordered.Ascending.And.Unique);
        Assert.That(a, Is.All.InRange(0, 999));
        Assert.That(GeneratorSampler.Sample(1000, 37, 42), Is.EqualTo(a));
        Assert.That(GeneratorSampler.Sample(1000, 37, 43), Is.Not.EqualTo(a));
        Assert.That(GeneratorSampler.Sample(5, 5, 1), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }
}
