using PammCuda.Engine;
using PammCuda.Sampling;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// Options given per call to <c>Compress</c> instead of the engine's: a per-call seed or list of generators must
/// give bit for bit what an engine constructed with them gives, on one engine reused across calls.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineOptionsTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 16, K = 12;

    [TestCase(DType.Float32)]
    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void A_per_call_seed_gives_what_an_engine_with_that_seed_gives(DType dtype)
    {
        switch (dtype)
        {
            case DType.Float32: AssertPerCallSeedMatchesConstructed<float>(); break;
            case DType.Float16: AssertPerCallSeedMatchesConstructed<Half>(); break;
            default: AssertPerCallSeedMatchesConstructed<BFloat16>(); break;
        }
    }

    [Test]
    public void The_address_overload_takes_per_call_options_too()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 2);
        var options = new PammOptions { K = K, Seed = 77, Epsilon = 0.6 };
        using var shared = new PammEngine(Device, new PammOptions { Ratio = 0.5 });
        using var constructed = new PammEngine(Device, options);
        using var input = Upload(x);
        using var perCall = shared.Compress(input.Address, Rows, Columns, DType.Float32, options);
        using var reference = constructed.Compress(input.Address, Rows, Columns, DType.Float32);
        AssertBitwiseEqual<float>(perCall, reference);
        Assert.That(perCall.K, Is.EqualTo(K));
    }

    [Test]
    public void Different_per_call_seeds_pick_different_generators()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 3);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var first = engine.Compress(input, Rows, Columns, new PammOptions { K = K, Seed = 1 });
        using var second = engine.Compress(input, Rows, Columns, new PammOptions { K = K, Seed = 2 });
        var firstRows = GeneratorSampler.Sample(Rows, K, 1);
        var secondRows = GeneratorSampler.Sample(Rows, K, 2);
        Assert.Multiple(() =>
        {
            Assert.That(firstRows, Is.Not.EqualTo(secondRows), "the two seeds must sample different rows for this test to mean anything");
            Assert.That(first.CopyGenerators<float>(), Is.EqualTo(RowsOf(x, firstRows)));
            Assert.That(second.CopyGenerators<float>(), Is.EqualTo(RowsOf(x, secondRows)));
        });
    }

    [Test]
    public void Per_call_explicit_generators_equal_constructor_explicit_generators()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 4);
        var longer = new PammOptions { GeneratorIndices = [5, 250, 17, 99, 0, 299], Epsilon = 0.8 };
        var shorter = new PammOptions { GeneratorIndices = [42, 7, 19], Epsilon = 0.8 };
        using var shared = new PammEngine(Device, new PammOptions { GeneratorIndices = [1, 2], Seed = 9 });
        using var longerEngine = new PammEngine(Device, longer);
        using var shorterEngine = new PammEngine(Device, shorter);
        using var input = Upload(x);
        // Longer then shorter then longer again: the scratch holding the indices is rewritten between calls.
        using var longerPerCall = shared.Compress(input, Rows, Columns, longer);
        using var shorterPerCall = shared.Compress(input, Rows, Columns, shorter);
        using var longerAgain = shared.Compress(input, Rows, Columns, longer);
        using var ownOptions = shared.Compress(input, Rows, Columns);
        using var longerReference = longerEngine.Compress(input, Rows, Columns);
        using var shorterReference = shorterEngine.Compress(input, Rows, Columns);
        AssertBitwiseEqual<float>(longerPerCall, longerReference);
        AssertBitwiseEqual<float>(shorterPerCall, shorterReference);
        AssertBitwiseEqual<float>(longerAgain, longerReference);
        Assert.That(ownOptions.CopyGenerators<float>(), Is.EqualTo(RowsOf(x, [1, 2])));
    }

    [Test]
    public void The_engine_keeps_its_own_copy_of_the_explicit_generators_it_was_given()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 6);
        var indices = new List<int> { 8, 3 };
        using var engine = new PammEngine(Device, new PammOptions { GeneratorIndices = indices });
        // The caller's list changes after construction: neither k nor the rows used may follow it.
        indices[0] = 0;
        indices.Add(200);
        using var input = Upload(x);
        using var compressed = engine.Compress(input, Rows, Columns);
        Assert.Multiple(() =>
        {
            Assert.That(engine.Options.GeneratorIndices, Is.EqualTo(new[] { 8, 3 }));
            Assert.That(compressed.K, Is.EqualTo(2));
            Assert.That(compressed.CopyGenerators<float>(), Is.EqualTo(RowsOf(x, [8, 3])));
        });
    }

    [Test]
    public void Per_call_options_leave_the_engine_options_in_force_for_later_calls()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 5);
        var own = new PammOptions { K = K, Seed = 31 };
        using var engine = new PammEngine(Device, own);
        using var input = Upload(x);
        using var before = engine.Compress(input, Rows, Columns);
        using var other = engine.Compress(input, Rows, Columns, new PammOptions { GeneratorIndices = [3, 4, 5] });
        using var after = engine.Compress(input, Rows, Columns);
        AssertBitwiseEqual<float>(after, before);
        Assert.That(after.CopyGenerators<float>(), Is.EqualTo(RowsOf(x, GeneratorSampler.Sample(Rows, K, 31))));
    }

    [Test]
    public void Null_or_unfitting_per_call_options_are_rejected_by_name()
    {
        using var engine = new PammEngine(Device);
        using var input = Upload(new float[20]);
        Assert.Multiple(() =>
        {
            Assert.That(() => engine.Compress(input, 5, 4, null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => engine.Compress(input.Address, 5, 4, DType.Float32, null!),
                Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => engine.Compress(input, 5, 4, new PammOptions { K = 6 }),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("K"));
            Assert.That(() => engine.Compress(input, 5, 4, new PammOptions { GeneratorIndices = [0, 5] }),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("GeneratorIndices"));
            Assert.That(() => engine.Compress(input, 5, 4, new PammOptions { GeneratorIndices = [1, 1] }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("GeneratorIndices"));
        });
        engine.Dispose();
        Assert.That(() => engine.Compress(input, 5, 4, new PammOptions()), Throws.TypeOf<ObjectDisposedException>());
    }

    private void AssertPerCallSeedMatchesConstructed<T>() where T : unmanaged
    {
        var x = EngineTestData.Random<T>(Rows, Columns, 1);
        var options = new PammOptions { K = K, Seed = 0xfeed_beef_0000_0042UL, Epsilon = 0.7 };
        // The shared engine's own options differ in every field, so nothing of them may leak into the per-call result.
        using var shared = new PammEngine(Device, new PammOptions { Ratio = 0.25, Seed = 5 });
        using var constructed = new PammEngine(Device, options);
        using var input = Upload(x);
        using var perCall = shared.Compress(input, Rows, Columns, options);
        using var reference = constructed.Compress(input, Rows, Columns);
        AssertBitwiseEqual<T>(perCall, reference);
        Assert.That(perCall.CopyGenerators<T>(), Is.EqualTo(RowsOf(x, GeneratorSampler.Sample(Rows, K, options.Seed))));
    }

    private static void AssertBitwiseEqual<T>(GpuCompressedActivation actual, GpuCompressedActivation expected) where T : unmanaged
    {
        var actualResult = CompressionResult.Of<T>(actual);
        var expectedResult = CompressionResult.Of<T>(expected);
        Assert.Multiple(() =>
        {
            Assert.That(actualResult.K, Is.EqualTo(expectedResult.K), "k");
            Assert.That(actualResult.GeneratorBits.Select(BitConverter.SingleToInt32Bits),
                Is.EqualTo(expectedResult.GeneratorBits.Select(BitConverter.SingleToInt32Bits)), "generators");
            Assert.That(actualResult.Assignment, Is.EqualTo(expectedResult.Assignment), "assignment");
            Assert.That(actualResult.Alpha.Select(BitConverter.SingleToInt32Bits),
                Is.EqualTo(expectedResult.Alpha.Select(BitConverter.SingleToInt32Bits)), "α");
            Assert.That(actualResult.DroppedRows, Is.EqualTo(expectedResult.DroppedRows), "dropped rows");
        });
    }

    private static T[] RowsOf<T>(T[] x, int[] rows) => [.. rows.SelectMany(row => x.Skip(row * Columns).Take(Columns))];
}
