using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// <see cref="PammEngine.OpenCompressed"/>: storage that a compression wrote, opened again from its address and shape
/// alone (what a framework that keeps only a tensor does), multiplies bit for bit as the handle that wrote it, reuses a
/// plan built for it, owns nothing, and refuses bad blocks and shapes naming them before anything is queued.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class OpenCompressedTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 10, GradientColumns = 9, K = 20;

    [TestCase(DType.Float32, DType.Float32)]
    [TestCase(DType.BFloat16, DType.BFloat16)]
    [TestCase(DType.Float16, DType.Float32)]
    public void An_opened_storage_multiplies_bitwise_as_the_handle_that_wrote_it(DType dtype, DType alphaType)
    {
        switch (dtype)
        {
            case DType.Float32: AssertOpenedMatchesWriter<float>(alphaType); break;
            case DType.Float16: AssertOpenedMatchesWriter<Half>(alphaType); break;
            default: AssertOpenedMatchesWriter<BFloat16>(alphaType); break;
        }
    }

    [Test]
    public void An_opened_storage_with_its_plan_queues_only_the_reductions_and_the_last_stage()
    {
        using var stream = new CountingStream(Device.DefaultStream);
        var options = new PammOptions { K = K, Seed = 3 };
        using var engine = new PammEngine(Device, options, stream);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 1));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 2));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var plan = Device.Allocate<byte>(PammEngine.ProductPlanBytes(Rows, Columns, K, DType.Float32));
        using (var writer = engine.CompressInto(input, Rows, Columns, options, storage))
            engine.PrepareProductsInto(writer, plan.Address, plan.Length);
        float[] expected;
        using (var withoutPlan = engine.OpenCompressed(storage.Address, storage.Length, Rows, Columns, K, DType.Float32))
        {
            Assert.That(withoutPlan.HasProductPlan, Is.False);
            expected = Product(engine, withoutPlan, gradient);
        }

        using var opened = engine.OpenCompressed(storage.Address, storage.Length, Rows, Columns, K, DType.Float32, plan: plan.Address,
            planBytes: plan.Length);
        stream.ClearLaunches();
        float[] actual = Product(engine, opened, gradient);
        Assert.Multiple(() =>
        {
            Assert.That(opened.HasProductPlan, Is.True);
            Assert.That(stream.Launches, Is.EqualTo(new[] { "pamm_reduce_chunks_f32", "pamm_reduce_groups", "pamm_expand_f32" }));
            Assert.That(stream.Gemms, Is.EqualTo(0));
            Assert.That(Bits(actual), Is.EqualTo(Bits(expected)), "the opened plan gives the product that sorts for itself");
        });
    }

    [Test]
    public void Disposing_an_opened_compression_leaves_the_storage_alone()
    {
        var options = new PammOptions { K = K, Seed = 4 };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 5));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 6));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var writer = engine.CompressInto(input, Rows, Columns, options, storage);
        byte[] written = storage.ToArray(engine.Stream);
        var opened = engine.OpenCompressed(storage.Address, storage.Length, Rows, Columns, K, DType.Float32);
        Assert.That(opened.OwnsStorage, Is.False);
        opened.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(engine.FreeStorageBlocks, Is.Zero, "nothing went back to the engine");
            Assert.That(storage.ToArray(engine.Stream), Is.EqualTo(written));
            Assert.That(Product(engine, writer, gradient).Any(v => v != 0f), "the writer still multiplies from the storage");
            Assert.That(() => Product(engine, opened, gradient), Throws.TypeOf<ObjectDisposedException>());
        });
    }

    [Test]
    public void Bad_blocks_and_shapes_are_refused_naming_them()
    {
        using var engine = new PammEngine(Device, new PammOptions { K = K });
        long storageBytes = PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32);
        long planBytes = PammEngine.ProductPlanBytes(Rows, Columns, K, DType.Float32);
        using var storage = Device.Allocate<byte>(storageBytes + 16);
        using var plan = Device.Allocate<byte>(planBytes + 16);
        ulong s = storage.Address, p = plan.Address;
        Assert.Multiple(() =>
        {
            AssertRefused<ArgumentException>("storage", "null", () => engine.OpenCompressed(0, storageBytes, Rows, Columns, K, DType.Float32));
            AssertRefused<ArgumentException>("storage", "need " + storageBytes,
                () => engine.OpenCompressed(s, storageBytes - 1, Rows, Columns, K, DType.Float32));
            AssertRefused<ArgumentException>("storage", "aligned", () => engine.OpenCompressed(s + 4, storageBytes, Rows, Columns, K, DType.Float32));
            AssertRefused<ArgumentException>("storage", "need ", () => engine.OpenCompressed(s, storageBytes, Rows, 4 * Columns, K, DType.Float32));
            AssertRefused<ArgumentOutOfRangeException>("k", "[1, 300]", () => engine.OpenCompressed(s, storageBytes, Rows, Columns, 0, DType.Float32));
            AssertRefused<ArgumentOutOfRangeException>("k", "[1, 300]", () => engine.OpenCompressed(s, storageBytes, Rows, Columns, Rows + 1, DType.Float32));
            AssertRefused<ArgumentOutOfRangeException>("rows", "", () => engine.OpenCompressed(s, storageBytes, 0, Columns, K, DType.Float32));
            AssertRefused<ArgumentOutOfRangeException>("dtype", "Unknown", () => engine.OpenCompressed(s, storageBytes, Rows, Columns, K, (DType)7));
            AssertRefused<ArgumentOutOfRangeException>("alphaType", "BFloat16",
                () => engine.OpenCompressed(s, storageBytes, Rows, Columns, K, DType.Float32, DType.Float16));
            AssertRefused<ArgumentException>("plan", "need " + planBytes,
                () => engine.OpenCompressed(s, storageBytes, Rows, Columns, K, DType.Float32, plan: p, planBytes: planBytes - 1));
            AssertRefused<ArgumentException>("plan", "null",
                () => engine.OpenCompressed(s, storageBytes, Rows, Columns, K, DType.Float32, plan: 0, planBytes: planBytes));
            AssertRefused<ArgumentException>("plan", "aligned",
                () => engine.OpenCompressed(s, storageBytes, Rows, Columns, K, DType.Float32, plan: p + 8, planBytes: planBytes));
        });
    }

    private void AssertOpenedMatchesWriter<T>(DType alphaType) where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        var options = new PammOptions { K = K, Seed = 8, Epsilon = 0.4, AlphaType = alphaType };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(EngineTestData.Random<T>(Rows, Columns, 9));
        using var gradient = Upload(EngineTestData.Random<T>(Rows, GradientColumns, 10));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, dtype, alphaType));
        using var writer = engine.CompressInto(input, Rows, Columns, options, storage);
        float[] expected = Product(engine, writer, gradient);
        using var opened = engine.OpenCompressed(storage.Address, storage.Length, Rows, Columns, K, dtype, alphaType);
        Assert.Multiple(() =>
        {
            Assert.That((opened.Rows, opened.Columns, opened.K, opened.DType, opened.AlphaType), Is.EqualTo((Rows, Columns, K, dtype, alphaType)));
            Assert.That(opened.StoredBytes, Is.EqualTo(writer.StoredBytes));
            Assert.That(opened.ReadDroppedRows(), Is.EqualTo(writer.ReadDroppedRows()), "η is read from the storage");
            Assert.That(Bits(Product(engine, opened, gradient)), Is.EqualTo(Bits(expected)));
            Assert.That(expected.Any(v => v != 0f), "the product is not all zeros");
        });
    }

    private float[] Product<T>(PammEngine engine, GpuCompressedActivation compressed, DeviceBuffer<T> gradient) where T : unmanaged
    {
        using var output = Device.Allocate<float>((long)compressed.Columns * GradientColumns);
        engine.ApproxMatmul(compressed, gradient, GradientColumns, output);
        return output.ToArray(engine.Stream);
    }

    private static void AssertRefused<TException>(string parameter, string messagePart, Func<GpuCompressedActivation?> call)
        where TException : ArgumentException
    {
        var exception = Assert.Catch<TException>(() => call()?.Dispose());
        Assert.That(exception?.ParamName, Is.EqualTo(parameter), exception?.Message);
        Assert.That(exception?.Message, Does.Contain(messagePart));
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
