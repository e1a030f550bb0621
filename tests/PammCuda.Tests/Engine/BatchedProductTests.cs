using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// <see cref="PammEngine.ApproxMatmulBatch"/>: the products of one compression (Q's, K's and V's weight gradients) in one
/// pass, each stage one launch for all of them, every output bitwise what its own product writes.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class BatchedProductTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 10;

    // Equal widths (multi-head attention), narrower K and V (grouped-query attention), widths off the scratch's 4-column
    // padding (9, 13: the second and third products' float4 stores land on padded offsets), two products, and k = 300,
    // whose plan sorts 16-bit f in two passes.
    [TestCase(DType.BFloat16, ProductLayout.GradientByInput, 20, new[] { 40, 24, 24 })]
    [TestCase(DType.Float32, ProductLayout.InputByGradient, 20, new[] { 9, 13, 4 })]
    [TestCase(DType.Float16, ProductLayout.GradientByInput, 300, new[] { 17, 17, 17 })]
    [TestCase(DType.BFloat16, ProductLayout.InputByGradient, 300, new[] { 5, 300 })]
    [TestCase(DType.Float32, ProductLayout.GradientByInput, 7, new[] { 1 })]
    public void Every_output_of_a_batch_is_bitwise_what_its_own_product_writes(DType dtype, ProductLayout layout, int k, int[] widths)
    {
        switch (dtype)
        {
            case DType.Float32: AssertBatchAgrees<float>(layout, k, widths); break;
            case DType.Float16: AssertBatchAgrees<Half>(layout, k, widths); break;
            default: AssertBatchAgrees<BFloat16>(layout, k, widths); break;
        }
    }

    [Test]
    public void A_planned_batch_queues_three_launches_for_all_its_products_and_never_waits()
    {
        int[] widths = [24, 8, 8];
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, new PammOptions { K = 20, Seed = 2 }, stream);
        using var input = Upload(EngineTestData.Random<BFloat16>(Rows, Columns, 1));
        using var compressed = engine.Compress(input, Rows, Columns);
        using var products = new Products<BFloat16>(this, widths, seed: 3);
        engine.ApproxMatmulBatch(compressed, products.Batch, DType.BFloat16, DType.BFloat16, ProductLayout.GradientByInput);

        stream.ClearLaunches();
        int waits = stream.Synchronizations;
        engine.ApproxMatmulBatch(compressed, products.Batch, DType.BFloat16, DType.BFloat16, ProductLayout.GradientByInput);
        Assert.Multiple(() =>
        {
            Assert.That(stream.Launches, Is.EqualTo(new[] { "pamm_reduce_chunks_bf16", "pamm_reduce_groups", "pamm_expand_bf16" }),
                "three products, three launches: one per stage (three separate products queue nine)");
            Assert.That(stream.Grids.Select(grid => grid.Z), Is.All.EqualTo(3u), "one grid layer per product");
            Assert.That(stream.Gemms, Is.EqualTo(0));
            Assert.That(stream.Fills, Is.EqualTo(0));
            Assert.That(stream.Synchronizations, Is.EqualTo(waits), "nothing waits for the device");
        });
    }

    [Test]
    public void A_batch_over_caller_storage_without_a_plan_groups_the_rows_once_in_a_workspace_of_the_size_it_was_told()
    {
        int[] widths = [12, 9, 9];
        const int k = 20;
        var options = new PammOptions { K = k, Seed = 4 };
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, options, stream);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 5));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, k, DType.Float32));
        using var compressed = engine.CompressInto(input, Rows, Columns, options, storage);
        long bytes = PammEngine.ApproxMatmulBatchWorkspaceBytes(compressed, widths);
        Assert.That(bytes, Is.EqualTo(PammEngine.ApproxMatmulBatchWorkspaceBytes(Rows, Columns, k, DType.Float32, widths)),
            "no plan yet: room to group the rows is counted");
        // Exactly the size: on the emulated device a write past it lands in the buffer's guard and fails the launch.
        using var workspace = Device.Allocate<byte>(bytes);
        using var batched = new Products<float>(this, widths, seed: 6);
        using var separate = new Products<float>(this, widths, seed: 6);

        stream.ClearLaunches();
        engine.ApproxMatmulBatch(compressed, batched.Batch, DType.Float32, DType.Float32, workspace: workspace.Address, workspaceBytes: bytes);
        Assert.That(stream.Launches.Count(name => name.StartsWith("pamm_radix_scan", StringComparison.Ordinal)), Is.EqualTo(1),
            "the rows are grouped once for the three products");
        Assert.That(compressed.HasProductPlan, Is.False, "a plan in the workspace is not kept");
        for (int i = 0; i < widths.Length; i++)
            engine.ApproxMatmul(compressed, separate.Gradient(i), widths[i], DType.Float32, separate.Output(i), DType.Float32);
        for (int i = 0; i < widths.Length; i++)
            Assert.That(Bits(batched.Read(i, engine.Stream)), Is.EqualTo(Bits(separate.Read(i, engine.Stream))), $"product {i}");
    }

    [Test]
    public void The_workspace_of_a_batch_is_that_of_one_product_as_wide_as_its_padded_products_together()
    {
        const int k = 20;
        Assert.Multiple(() =>
        {
            foreach (bool planned in new[] { false, true })
            {
                Assert.That(PammEngine.ApproxMatmulBatchWorkspaceBytes(Rows, Columns, k, DType.BFloat16, [9], planned),
                    Is.EqualTo(PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, k, DType.BFloat16, 9, DType.BFloat16, planned)),
                    $"a batch of one, planned: {planned}");
                // 9 and 13 are padded to 12 and 16 before the next product's scratch; the last is not.
                Assert.That(PammEngine.ApproxMatmulBatchWorkspaceBytes(Rows, Columns, k, DType.BFloat16, [9, 13, 4], planned),
                    Is.EqualTo(PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, k, DType.BFloat16, 12 + 16 + 4, DType.BFloat16, planned)),
                    $"three products, planned: {planned}");
            }
            var batch = ProductBatch.Of([new(1, 9, 1), new(1, 13, 1), new(1, 4, 1)]);
            Assert.That(new[] { batch.ScratchOffset(0), batch.ScratchOffset(1), batch.ScratchOffset(2), batch.ScratchColumns },
                Is.EqualTo(new long[] { 0, 12, 28, 32 }));
            Assert.That(batch[2], Is.EqualTo(new BatchedProduct(1, 4, 1)));
        });
    }

    [Test]
    public void The_batch_capacity_is_the_kernels_parameter_slots()
    {
        Assert.That(PammEngine.MaxBatchedProducts, Is.EqualTo(KernelSources.Constant("PAMM_MAX_BATCHED_PRODUCTS")));
        // Each batched kernel takes one parameter per slot for what differs between products.
        Assert.That(KernelSources.Declarations["pamm_reduce_groups"].Parameters.Count(p => p.Name.StartsWith("columns", StringComparison.Ordinal)),
            Is.EqualTo(PammEngine.MaxBatchedProducts));
    }

    [Test]
    public void Bad_batches_are_refused_naming_the_argument_before_any_work()
    {
        var options = new PammOptions { K = 20, Seed = 7 };
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, options, stream);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 8));
        using var compressed = engine.Compress(input, Rows, Columns);
        using var products = new Products<float>(this, [8, 8, 8, 8], seed: 9);
        var good = products.Batch;
        BatchedProduct[] three = [good[0], good[1], good[2]];
        BatchedProduct[] With(int index, BatchedProduct product)
        {
            BatchedProduct[] batch = [.. three];
            batch[index] = product;
            return batch;
        }
        int max = PammEngine.MaxGradientColumns;
        long tooSmall = PammEngine.ApproxMatmulBatchWorkspaceBytes(compressed, [8, 8, 8]) - 1;
        using var small = Device.Allocate<byte>(tooSmall);
        stream.ClearLaunches();
        Assert.Multiple(() =>
        {
            void Refused<TException>(Action call, string parameter, string message) where TException : ArgumentException =>
                Assert.That(() => call(), Throws.InstanceOf<TException>().With.Property("ParamName").EqualTo(parameter).And.Message.Contains(message), message);
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, [], DType.Float32, DType.Float32), "products", "1 to 3");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, good, DType.Float32, DType.Float32), "products", "1 to 3");
            Refused<ArgumentException>(() => engine.ApproxMatmulBatch(compressed, With(1, good[1] with { Gradient = 0 }), DType.Float32, DType.Float32),
                "products", "products[1].Gradient is a null pointer");
            Refused<ArgumentException>(() => engine.ApproxMatmulBatch(compressed, With(2, good[2] with { Output = 0 }), DType.Float32, DType.Float32),
                "products", "products[2].Output is a null pointer");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, With(0, good[0] with { GradientColumns = 0 }), DType.Float32,
                DType.Float32), "products", "products[0].GradientColumns");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, With(2, good[2] with { GradientColumns = max + 1 }),
                DType.Float32, DType.Float32), "products", "products[2].GradientColumns");
            // Output 1 starts 4 floats into output 0 (n × m = 80 floats).
            Refused<ArgumentException>(() => engine.ApproxMatmulBatch(compressed, With(1, good[1] with { Output = good[0].Output + 16 }),
                DType.Float32, DType.Float32), "products", "outputs of products 0 and 1 overlap");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, three, (DType)7, DType.Float32), "gradientType", "dtype");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, three, DType.Float32, (DType)7), "outputType", "dtype");
            Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch(compressed, three, DType.Float32, DType.Float32, (ProductLayout)5),
                "layout", "layout");
            Refused<ArgumentException>(() => engine.ApproxMatmulBatch(compressed, three, DType.Float32, DType.Float32, workspace: small.Address,
                workspaceBytes: tooSmall), "workspace", nameof(PammEngine.ApproxMatmulBatchWorkspaceBytes));
            Refused<ArgumentOutOfRangeException>(() => PammEngine.ApproxMatmulBatchWorkspaceBytes(compressed, []), "gradientColumns", "1 to 3");
            Refused<ArgumentOutOfRangeException>(() => PammEngine.ApproxMatmulBatchWorkspaceBytes(compressed, [4, 0]), "gradientColumns", "between 1");
            Refused<ArgumentOutOfRangeException>(() => PammEngine.ApproxMatmulBatchWorkspaceBytes(Rows, Columns, Rows + 1, DType.Float32, [4]), "k", "k must");
            Assert.That(() => engine.ApproxMatmulBatch(null!, three, DType.Float32, DType.Float32), Throws.ArgumentNullException);
            Assert.That(() => PammEngine.ApproxMatmulBatchWorkspaceBytes(null!, [4]), Throws.ArgumentNullException);
        });
        Assert.That(stream.Launches, Is.Empty, "nothing was queued");
        compressed.Dispose();
        Assert.That(() => engine.ApproxMatmulBatch(compressed, three, DType.Float32, DType.Float32), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void The_buffer_overload_checks_every_buffer_and_writes_what_the_pointer_overload_writes()
    {
        int[] widths = [16, 8, 8];
        using var engine = new PammEngine(Device, new PammOptions { K = 20, Seed = 14 });
        using var input = Upload(EngineTestData.Random<BFloat16>(Rows, Columns, 15));
        using var compressed = engine.Compress(input, Rows, Columns);
        // The gradients Products makes from seed 16: the same values in both batches.
        var gradients = widths.Select((m, i) => Upload(EngineTestData.Random<BFloat16>(Rows, m, 16 + 2 * i))).ToArray();
        var outputs = widths.Select(m => Device.Allocate<float>((long)Columns * m)).ToArray();
        using var byPointer = new Products<BFloat16>(this, widths, seed: 16);
        using var small = Device.Allocate<float>((long)Columns * widths[2] - 1);
        try
        {
            engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, widths, outputs, ProductLayout.GradientByInput);
            engine.ApproxMatmulBatch(compressed, byPointer.Batch, DType.BFloat16, DType.BFloat16, ProductLayout.GradientByInput);
            for (int i = 0; i < widths.Length; i++)
            {
                float[] expected = [.. byPointer.Read(i, engine.Stream).Select(ElementConvert.ToSingle)];
                // The pointer batch wrote bf16 and this one float32: the same float32 sums, rounded once or not at all.
                Assert.That(outputs[i].ToArray(engine.Stream).Select(v => (float)(BFloat16)v), Is.EqualTo(expected), $"product {i}");
            }
            Assert.Multiple(() =>
            {
                void Refused<TException>(Action call, string parameter, string message) where TException : Exception =>
                    Assert.That(() => call(), Throws.InstanceOf<TException>().With.Message.Contains(message)
                        .And.Property("ParamName").EqualTo(parameter), message);
                Refused<ArgumentException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, widths.AsSpan(0, 2), outputs),
                    "gradientColumns", "must name as many products");
                Refused<ArgumentException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, widths, [outputs[0], outputs[1], small]),
                    "outputs[2]", "the shapes need 80");
                Refused<ArgumentException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, [16, 8, 9], outputs),
                    "gradients[2]", "the shapes need 2700");
                Refused<ArgumentException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, widths, [outputs[0], outputs[1], outputs[1]]),
                    "outputs", "outputs[1] and outputs[2] are one buffer");
                Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, [16, 0, 8], outputs),
                    "gradientColumns", "gradientColumns[1]");
                Refused<ArgumentOutOfRangeException>(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, [], [], []),
                    "gradientColumns", "1 to 3");
                Refused<ArgumentException>(() => engine.ApproxMatmulBatch<int, float>(compressed, [], [8], []), "gradients", "Int32");
            });
            gradients[1].Dispose();
            Assert.That(() => engine.ApproxMatmulBatch<BFloat16, float>(compressed, gradients, widths, outputs), Throws.TypeOf<ObjectDisposedException>());
        }
        finally
        {
            foreach (var buffer in gradients) buffer.Dispose();
            foreach (var buffer in outputs) buffer.Dispose();
        }
    }

    private void AssertBatchAgrees<T>(ProductLayout layout, int k, int[] widths) where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        using var engine = new PammEngine(Device, new PammOptions { K = k, Seed = 11 });
        using var input = Upload(EngineTestData.Random<T>(Rows, Columns, 12));
        using var compressed = engine.Compress(input, Rows, Columns);
        // The same gradients and old outputs in both sets; c = 0.5 reads the old outputs, a = 2 scales the products.
        using var batched = new Products<T>(this, widths, seed: 13);
        using var separate = new Products<T>(this, widths, seed: 13);
        // The batch first: it builds the compression's plan, which the separate products then reuse.
        engine.ApproxMatmulBatch(compressed, batched.Batch, dtype, dtype, layout, a: 2f, c: 0.5f);
        for (int i = 0; i < widths.Length; i++)
            engine.ApproxMatmul(compressed, separate.Gradient(i), widths[i], dtype, separate.Output(i), dtype, layout, a: 2f, c: 0.5f);
        Assert.Multiple(() =>
        {
            for (int i = 0; i < widths.Length; i++)
            {
                T[] expected = separate.Read(i, engine.Stream);
                Assert.That(Bits(batched.Read(i, engine.Stream)), Is.EqualTo(Bits(expected)), $"product {i} (m = {widths[i]})");
                Assert.That(Bits(expected), Is.Not.EqualTo(Bits(separate.Old(i))), $"product {i} was written");
            }
        });
    }

    private static byte[] Bits<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>One gradient (rows × m) and one output (n × m elements, filled with random old values) per width, on the device.</summary>
    private sealed class Products<T> : IDisposable where T : unmanaged
    {
        private readonly DeviceBuffer<T>[] _gradients;
        private readonly DeviceBuffer<T>[] _outputs;
        private readonly T[][] _old;

        public Products(BatchedProductTests test, int[] widths, int seed)
        {
            _gradients = [.. widths.Select((m, i) => test.Upload(EngineTestData.Random<T>(Rows, m, seed + 2 * i)))];
            _old = [.. widths.Select((m, i) => EngineTestData.Random<T>(Columns, m, seed + 2 * i + 1))];
            _outputs = [.. _old.Select(test.Upload)];
            Batch = [.. widths.Select((m, i) => new BatchedProduct(_gradients[i].Address, m, _outputs[i].Address))];
        }

        public BatchedProduct[] Batch { get; }

        public ulong Gradient(int index) => _gradients[index].Address;

        public ulong Output(int index) => _outputs[index].Address;

        public T[] Old(int index) => _old[index];

        public T[] Read(int index, IDeviceStream stream) => _outputs[index].ToArray(stream);

        public void Dispose()
        {
            foreach (var buffer in _gradients.Concat(_outputs)) buffer.Dispose();
        }
    }
}
