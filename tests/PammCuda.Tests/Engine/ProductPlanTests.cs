using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// The products of one compression share one plan (rows grouped by generator): the first
/// product of an engine-owned compression builds it, <see cref="PammEngine.PrepareProductsInto"/> builds it into caller
/// memory, and the products after it queue only the two reduction passes and the last stage, with results bitwise equal
/// to a product that sorts for itself.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class ProductPlanTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 10, GradientColumns = 9, K = 20;

    [TestCase(DType.Float32, "pamm_expand_f32")]
    [TestCase(DType.BFloat16, "pamm_expand_bf16")]
    public void Products_after_the_first_reuse_the_plan_and_queue_three_kernels_and_no_gemm(DType outputType, string expand)
    {
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, new PammOptions { K = K, Seed = 2 }, stream);
        using var input = Upload(EngineTestData.Random<BFloat16>(Rows, Columns, 1));
        using var gradient = Upload(EngineTestData.Random<BFloat16>(Rows, GradientColumns, 2));
        using var compressed = engine.Compress(input, Rows, Columns);
        using var output32 = Device.Allocate<float>(Columns * GradientColumns);
        using var output16 = Device.Allocate<BFloat16>(Columns * GradientColumns);
        ulong target = outputType == DType.Float32 ? output32.Address : output16.Address;
        Assert.That(compressed.HasProductPlan, Is.False, "a compression alone builds no plan: the forward pass keeps only C, f, α, η");

        stream.ClearLaunches();
        engine.ApproxMatmul(compressed, gradient.Address, GradientColumns, DType.BFloat16, target, outputType);
        string[] product = ["pamm_reduce_chunks_bf16", "pamm_reduce_groups", expand];
        Assert.Multiple(() =>
        {
            Assert.That(compressed.HasProductPlan, Is.True);
            // k = 20 ≤ 256: one radix pass over 8-bit f; the bf16 generators are read as they are, not widened first.
            Assert.That(stream.Launches, Is.EqualTo(new[] { "pamm_radix_histogram_u8", "pamm_radix_scan", "pamm_radix_scatter_u8" }
                .Concat(product)));
            Assert.That(stream.Gemms, Is.EqualTo(0), "the last stage is a kernel of ours, whatever the output's dtype");
            Assert.That(stream.Fills, Is.EqualTo(0), "nothing is cleared before the plan or the product");
        });

        for (int later = 2; later <= 3; later++)
        {
            stream.ClearLaunches();
            engine.ApproxMatmul(compressed, gradient.Address, GradientColumns, DType.BFloat16, target, outputType);
            Assert.That(stream.Launches, Is.EqualTo(product), $"product {later}");
            Assert.That(stream.Gemms, Is.EqualTo(0), $"product {later}");
            Assert.That(stream.Fills, Is.EqualTo(0), $"product {later}");
        }
    }

    // k = 20 sorts in one pass over 8-bit f, k = 300 in two over 16-bit f (the scratch pair in between).
    [TestCase(DType.Float32, 20)]
    [TestCase(DType.Float32, 300)]
    [TestCase(DType.BFloat16, 20)]
    [TestCase(DType.BFloat16, 300)]
    public void Shared_plans_give_bitwise_what_a_product_that_sorts_for_itself_gives(DType dtype, int k)
    {
        if (dtype == DType.Float32) AssertPlansAgree<float>(k);
        else AssertPlansAgree<BFloat16>(k);
    }

    [Test]
    public void A_plan_block_is_checked_naming_it_before_any_work()
    {
        var options = new PammOptions { K = K, Seed = 3 };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 4));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var compressed = engine.CompressInto(input, Rows, Columns, options, storage);
        long bytes = PammEngine.ProductPlanBytes(Rows, Columns, K, DType.Float32);
        using var plan = Device.Allocate<byte>(bytes + 16);
        Assert.Multiple(() =>
        {
            Assert.That(() => engine.PrepareProductsInto(compressed, 0, bytes),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("plan").And.Message.Contains("null"));
            Assert.That(() => engine.PrepareProductsInto(compressed, plan.Address, bytes - 1),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("plan").And.Message.Contains(nameof(PammEngine.ProductPlanBytes)));
            Assert.That(() => engine.PrepareProductsInto(compressed, plan.Address + 4, bytes),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("plan").And.Message.Contains("aligned"));
            Assert.That(() => engine.PrepareProductsInto(null!, plan.Address, bytes), Throws.ArgumentNullException);
            Assert.That(() => PammEngine.ProductPlanBytes(Rows, Columns, Rows + 1, DType.Float32),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("k"));
            Assert.That(() => PammEngine.ProductPlanBytes(Rows, Columns, K, (DType)9),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("dtype"));
        });
        Assert.That(compressed.HasProductPlan, Is.False, "a refused block leaves no plan behind");

        engine.PrepareProductsInto(compressed, plan.Address, bytes);
        Assert.That(compressed.HasProductPlan, Is.True);
        Assert.That(() => engine.PrepareProductsInto(compressed, plan.Address, bytes),
            Throws.InvalidOperationException.With.Message.Contains("already has a product plan"));
        compressed.Dispose();
        Assert.That(() => engine.PrepareProductsInto(compressed, plan.Address, bytes), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void A_product_with_a_plan_needs_no_workspace_room_to_group_the_rows()
    {
        var options = new PammOptions { K = K, Seed = 12 };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 13));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 14));
        long full = PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, DType.Float32, GradientColumns, DType.Float32);
        long planned = PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, DType.Float32, GradientColumns, DType.Float32, planned: true);
        long planBytes = PammEngine.ProductPlanBytes(Rows, Columns, K, DType.Float32);
        Assert.That(full - planned, Is.InRange(planBytes, planBytes + CompressedStorageLayout.SectionAlignment), "the room is a plan and its alignment");

        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var plan = Device.Allocate<byte>(PammEngine.ProductPlanBytes(Rows, Columns, K, DType.Float32));
        using var small = Device.Allocate<byte>(planned);
        using var output = Device.Allocate<float>(Columns * GradientColumns);
        using var into = engine.CompressInto(input, Rows, Columns, options, storage);
        using var owned = engine.Compress(input, Rows, Columns);
        Assert.Multiple(() =>
        {
            Assert.That(PammEngine.ApproxMatmulWorkspaceBytes(into, GradientColumns, DType.Float32), Is.EqualTo(full), "caller storage, no plan yet");
            Assert.That(PammEngine.ApproxMatmulWorkspaceBytes(owned, GradientColumns, DType.Float32), Is.EqualTo(planned), "engine storage builds its plan there");
            Assert.That(() => engine.ApproxMatmul(into, gradient, GradientColumns, output, workspace: small),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("workspace").And.Message.Contains("need " + full));
        });
        float[] sortsItself = Product(engine, into, gradient, GradientColumns);

        engine.PrepareProductsInto(into, plan.Address, plan.Length);
        Assert.That(PammEngine.ApproxMatmulWorkspaceBytes(into, GradientColumns, DType.Float32), Is.EqualTo(planned));
        engine.ApproxMatmul(into, gradient, GradientColumns, output, workspace: small);
        float[] withPlan = output.ToArray(engine.Stream);
        engine.ApproxMatmul(owned, gradient, GradientColumns, output, workspace: small);
        Assert.Multiple(() =>
        {
            Assert.That(Bits(withPlan), Is.EqualTo(Bits(sortsItself)));
            Assert.That(Bits(output.ToArray(engine.Stream)), Is.EqualTo(Bits(sortsItself)), "the engine-owned compression in a planned-size workspace");
        });
    }

    [Test]
    public void An_engine_owned_plan_goes_back_to_the_engine_with_its_storage()
    {
        using var engine = new PammEngine(Device, new PammOptions { K = K, Seed = 5 });
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 6));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 7));
        using var output = Device.Allocate<float>(Columns * GradientColumns);
        var compressed = engine.Compress(input, Rows, Columns);
        engine.ApproxMatmul(compressed, gradient, GradientColumns, output);
        Assert.That(engine.FreeStorageBlocks, Is.Zero);
        compressed.Dispose();
        Assert.That(engine.FreeStorageBlocks, Is.EqualTo(2), "the storage block and the plan block");
    }

    /// <summary>The same product four ways: engine-owned (plan built, then reused), caller storage sorting for itself, and caller storage with a caller plan.</summary>
    private void AssertPlansAgree<T>(int k) where T : unmanaged
    {
        const int rows = 700, columns = 6, gradientColumns = 5;
        var dtype = DTypes.Of<T>();
        var options = new PammOptions { K = k, Seed = 9 };
        using var engine = new PammEngine(Device, options);
        using var input = Upload(EngineTestData.Random<T>(rows, columns, 10));
        using var gradient = Upload(EngineTestData.Random<T>(rows, gradientColumns, 11));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, dtype));
        using var plan = Device.Allocate<byte>(PammEngine.ProductPlanBytes(rows, columns, k, dtype));

        using var owned = engine.Compress(input, rows, columns);
        float[] built = Product(engine, owned, gradient, gradientColumns);
        float[] reused = Product(engine, owned, gradient, gradientColumns);
        using var into = engine.CompressInto(input, rows, columns, options, storage);
        float[] sortsItself = Product(engine, into, gradient, gradientColumns);
        Assert.That(into.HasProductPlan, Is.False, "caller storage gets a plan only from PrepareProductsInto");
        engine.PrepareProductsInto(into, plan.Address, plan.Length);
        float[] callerPlan = Product(engine, into, gradient, gradientColumns);

        Assert.Multiple(() =>
        {
            Assert.That(Bits(reused), Is.EqualTo(Bits(built)), "the reused plan");
            Assert.That(Bits(sortsItself), Is.EqualTo(Bits(built)), "a product that sorts for itself");
            Assert.That(Bits(callerPlan), Is.EqualTo(Bits(built)), "a caller plan");
            Assert.That(built.Any(v => v != 0f), "the product is not all zeros");
        });
    }

    private float[] Product<T>(PammEngine engine, GpuCompressedActivation compressed, DeviceBuffer<T> gradient, int gradientColumns)
        where T : unmanaged
    {
        using var output = Device.Allocate<float>((long)compressed.Columns * gradientColumns);
        engine.ApproxMatmul(compressed, gradient, gradientColumns, output);
        return output.ToArray(engine.Stream);
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
