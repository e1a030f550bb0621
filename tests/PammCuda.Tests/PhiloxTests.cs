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

    // The selection against its definition, a full sort of (key, index) pairs, on keys with few distinct values (so
    // that the k-th smallest is tied and the index must break it), on sorted, reversed and constant keys, and on
    // every k.
    [Test]
    public void SmallestKeys_is_the_first_k_of_the_keys_sorted_with_ties_by_index()
    {
        var random = new Random(7);
        var cases = new List<ulong[]>
        {
            Enumerable.Range(0, 40).Select(i => (ulong)i).ToArray(),
            Enumerable.Range(0, 40).Select(i => (ulong)(40 - i)).ToArray(),
            Enumerable.Repeat(5UL, 33).ToArray(),
            new ulong[] { ulong.MaxValue, 0, ulong.MaxValue, 0, 1 },
        };
        for (int trial = 0; trial < 60; trial++)
        {
            int length = random.Next(1, 200);
            int distinct = random.Next(1, 12);
            cases.Add(Enumerable.Range(0, length).Select(_ => (ulong)random.Next(distinct) * 0x9E3779B97F4A7C15UL).ToArray());
            cases.Add(Enumerable.Range(0, length).Select(_ => (ulong)random.NextInt64()).ToArray());
        }
        foreach (var keys in cases)
        {
            for (int k = 1; k <= keys.Length; k++)
            {
                int[] expected = [.. Enumerable.Range(0, keys.Length).OrderBy(i => keys[i]).ThenBy(i => i).Take(k).Order()];
                Assert.That(GeneratorSampler.SmallestKeys(keys, k), Is.EqualTo(expected), $"k = {k} of [{string.Join(", ", keys)}]");
            }
        }
    }

    [Test]
    public void KthSmallest_is_the_value_at_that_rank_of_the_sorted_keys()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            int length = random.Next(1, 64);
            ulong[] keys = [.. Enumerable.Range(0, length).Select(_ => trial % 2 == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(4))];
            ulong[] sorted = [.. keys.Order()];
            for (int rank = 0; rank < length; rank++)
                Assert.That(GeneratorSampler.KthSmallest([.. keys], rank), Is.EqualTo(sorted[rank]), $"rank {rank} of [{string.Join(", ", keys)}]");
        }
    }

    [Test]
    public void Sample_picks_the_rows_with_the_smallest_Philox_keys()
    {
        foreach (var (rows, k, seed) in new[] { (1, 1, 0UL), (4096, 8, 3UL), (10_000, 4_000, 11UL), (20_000, 39, 12345UL) })
        {
            int[] expected = [.. Enumerable.Range(0, rows).OrderBy(i => Philox4x32.RowKey(seed, i)).ThenBy(i => i).Take(k).Order()];
            Assert.That(GeneratorSampler.Sample(rows, k, seed), Is.EqualTo(expected), $"{k} of {rows}, seed {seed}");
        }
    }
}
