using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// Compression into caller storage with caller workspace (what a framework does to count PAMM's memory itself) gives
/// bit for bit what the engine's own memory gives; blocks too small are rejected naming them before any work; and
/// nothing in compress, product and dispose waits for the device.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineCallerMemoryTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 24, K = 12, GradientColumns = 7;
    private static readonly PammOptions Options = new() { K = K, Seed = 41, Epsilon = 0.3 };

    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    public void Caller_storage_and_workspace_give_bitwise_what_the_engine_memory_gives(DType dtype)
    {
        if (dtype == DType.Float32) AssertCallerMemoryMatchesOwned<float>();
        else AssertCallerMemoryMatchesOwned<BFloat16>();
    }

    [Test]
    public void A_storage_view_at_an_offset_into_a_larger_block_works_through_raw_pointers()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 5);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        long storageBytes = PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32);
        using var block = Device.Allocate<byte>(storageBytes + 512);
        using var owned = engine.Compress(input, Rows, Columns, Options);
        using var into = engine.CompressInto(input.Address, Rows, Columns, DType.Float32, Options, block.Address + 256, storageBytes);
        Assert.Multiple(() =>
        {
            Assert.That(into.OwnsStorage, Is.False);
            Assert.That(into.StorageAddress, Is.EqualTo(block.Address + 256));
            Assert.That(into.CopyGenerators<float>(), Is.EqualTo(owned.CopyGenerators<float>()));
            Assert.That(into.CopyAssignment(), Is.EqualTo(owned.CopyAssignment()));
            Assert.That(into.CopyAlpha(), Is.EqualTo(owned.CopyAlpha()));
            Assert.That(into.ReadDroppedRows(), Is.EqualTo(owned.ReadDroppedRows()));
        });
    }

    [Test]
    public void The_device_storage_block_has_the_layout_the_cpu_backend_reads()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 6);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var compressed = engine.CompressInto(input, Rows, Columns, Options, storage);
        var read = CpuPamm.ReadCompressed<float>(storage.ToArray(engine.Stream), Rows, Columns, K);
        Assert.Multiple(() =>
        {
            Assert.That(read.Generators.ToArray(), Is.EqualTo(compressed.CopyGenerators<float>()));
            Assert.That(read.Alpha.ToArray(), Is.EqualTo(compressed.CopyAlpha()));
            Assert.That(Enumerable.Range(0, Rows).Select(read.AssignmentOf), Is.EqualTo(compressed.CopyAssignment()));
            Assert.That(read.DroppedRows, Is.EqualTo(compressed.ReadDroppedRows()));
        });
    }

    [Test]
    public void Alpha_stored_as_bfloat16_takes_two_bytes_a_row_that_the_cpu_reads_and_multiplies_alike()
    {
        var x = EngineTestData.Random<float>(Rows, Columns, 12);
        var g = EngineTestData.Random<float>(Rows, GradientColumns, 13);
        var options = Options with { AlphaType = DType.BFloat16 };
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var gradient = Upload(g);
        long storageBytes = PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32, DType.BFloat16);
        Assert.That(storageBytes, Is.LessThan(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32)));
        using var storage = Device.Allocate<byte>(storageBytes);
        using var compressed = engine.CompressInto(input, Rows, Columns, options, storage);
        using var output = Device.Allocate<float>(Columns * GradientColumns);
        engine.ApproxMatmul(compressed, gradient, GradientColumns, output);
        var read = CpuPamm.ReadCompressed<float>(storage.ToArray(engine.Stream), Rows, Columns, K, DType.BFloat16);
        var expected = new float[Columns * GradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(read, g, GradientColumns, expected);
        float[] actual = output.ToArray(engine.Stream);
        float scale = expected.Max(Math.Abs);
        Assert.Multiple(() =>
        {
            Assert.That(compressed.StoredBytes, Is.EqualTo(CompressedSize.StoredBytes(Rows, Columns, K, DType.Float32) - 2L * Rows));
            Assert.That(read.Alpha.ToArray(), Is.EqualTo(compressed.CopyAlpha()));
            Assert.That(read.Alpha.ToArray(), Is.All.Matches<float>(a => (float)(BFloat16)a == a || float.IsNaN(a)), "bfloat16 values");
            Assert.That(read.DroppedRows, Is.EqualTo(compressed.ReadDroppedRows()));
            for (int i = 0; i < actual.Length; i++)
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5f * Rows * scale), $"product element {i}");
        });
    }

    [Test]
    public void Blocks_too_small_or_missing_are_rejected_naming_them_before_any_work()
    {
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 7));
        long storageBytes = PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32);
        long workspaceBytes = PammEngine.CompressWorkspaceBytes(Rows, Columns, K);
        using var storage = Device.Allocate<byte>(storageBytes);
        using var workspace = Device.Allocate<byte>(workspaceBytes);
        storage.CopyFrom(Enumerable.Repeat((byte)0x5A, (int)storageBytes).ToArray());
        ulong x = input.Address;
        Assert.Multiple(() =>
        {
            AssertRejected("storage", "need " + storageBytes,
                () => engine.CompressInto(x, Rows, Columns, DType.Float32, Options, storage.Address, storageBytes - 1, workspace.Address, workspaceBytes));
            AssertRejected("storage", "null",
                () => engine.CompressInto(x, Rows, Columns, DType.Float32, Options, 0, storageBytes));
            AssertRejected("storage", "aligned",
                () => engine.CompressInto(x, Rows, Columns, DType.Float32, Options, storage.Address + 4, storageBytes - 4));
            AssertRejected("workspace", "need " + workspaceBytes,
                () => engine.CompressInto(x, Rows, Columns, DType.Float32, Options, storage.Address, storageBytes, workspace.Address, workspaceBytes - 1));
            AssertRejected("workspace", "null",
                () => engine.CompressInto(x, Rows, Columns, DType.Float32, Options, storage.Address, storageBytes, 0, workspaceBytes));
            using var small = Device.Allocate<byte>(storageBytes - 1);
            AssertRejected("storage", "need ", () => engine.CompressInto(input, Rows, Columns, Options, small, workspace));
        });
        // Nothing was queued: the storage still holds what the test wrote.
        Assert.That(storage.ToArray(engine.Stream), Is.All.EqualTo((byte)0x5A));

        using var compressed = engine.CompressInto(input, Rows, Columns, Options, storage);
        long productBytes = PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, DType.Float32, GradientColumns, DType.Float32);
        using var gradient = Device.Allocate<float>((long)Rows * GradientColumns);
        using var output = Device.Allocate<float>((long)Columns * GradientColumns);
        using var tooSmall = Device.Allocate<byte>(productBytes - 1);
        AssertRejected("workspace", "need " + productBytes,
            () => engine.ApproxMatmul(compressed, gradient, GradientColumns, output, workspace: tooSmall));
        AssertRejected("workspace", "need " + productBytes,
            () => engine.ApproxMatmul(compressed, gradient.Address, GradientColumns, DType.Float32, output.Address, DType.Float32,
                workspace: tooSmall.Address, workspaceBytes: productBytes - 1));
    }

    [Test]
    public void Size_functions_reject_bad_shapes_naming_them()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => PammEngine.CompressedStorageBytes(10, 4, 11, DType.Float32), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("k"));
            Assert.That(() => PammEngine.CompressWorkspaceBytes(0, 4, 1), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rows"));
            Assert.That(() => PammEngine.ApproxMatmulWorkspaceBytes(10, 4, 2, DType.Float32, 0, DType.Float32),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("gradientColumns"));
            Assert.That(() => PammEngine.ApproxMatmulWorkspaceBytes(10, 4, 2, DType.Float32, 3, (DType)9),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputType"));
            // 100 × 12 float32, k = 7: C 336 bytes, α at 512, f at 1024, η at 1280.
            Assert.That(PammEngine.CompressedStorageBytes(100, 12, 7, DType.Float32), Is.EqualTo(1284));
        });
    }

    [Test]
    public void Compress_product_and_dispose_never_wait_for_the_device()
    {
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, Options, stream);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 8));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 9));
        using var output = Device.Allocate<float>((long)Columns * GradientColumns);
        long workspaceBytes = Math.Max(PammEngine.CompressWorkspaceBytes(Rows, Columns, K),
            PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, DType.Float32, GradientColumns, DType.Float32));
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var workspace = Device.Allocate<byte>(workspaceBytes);
        // Warm-up: the engine's own scratch grows (which may wait) on first use of a shape.
        using (var warm = engine.Compress(input, Rows, Columns)) engine.ApproxMatmul(warm, gradient, GradientColumns, output);
        int before = stream.Synchronizations;

        for (int step = 0; step < 3; step++)
        {
            var owned = engine.Compress(input, Rows, Columns);
            engine.ApproxMatmul(owned, gradient, GradientColumns, output, ProductLayout.GradientByInput, 1f, 1f);
            owned.Dispose();
            var into = engine.CompressInto(input, Rows, Columns, Options, storage, workspace);
            engine.ApproxMatmul(into, gradient, GradientColumns, output, ProductLayout.GradientByInput, 1f, 1f, workspace);
            into.Dispose();
        }
        Assert.That(stream.Synchronizations, Is.EqualTo(before), "a training step's calls waited for the device");

        // The counter sees waits: reading η is the explicit one.
        using var compressed = engine.Compress(input, Rows, Columns);
        _ = compressed.ReadDroppedRows();
        Assert.That(stream.Synchronizations, Is.EqualTo(before + 1));
    }

    [Test]
    public void An_activation_reads_back_after_its_engine_is_disposed()
    {
        var engine = new PammEngine(Device, Options);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 13));
        using var compressed = engine.Compress(input, Rows, Columns);
        using var reference = new PammEngine(Device, Options);
        using var same = reference.Compress(input, Rows, Columns);
        engine.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(compressed.ReadDroppedRows(), Is.EqualTo(same.ReadDroppedRows()));
            Assert.That(compressed.CopyAlpha(), Is.EqualTo(same.CopyAlpha()));
            Assert.That(compressed.CopyAssignment(), Is.EqualTo(same.CopyAssignment()));
        });
    }

    [Test]
    public void A_disposed_activations_storage_is_reused_by_the_next_compression_of_its_size()
    {
        using var engine = new PammEngine(Device, Options);
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 10));
        var first = engine.Compress(input, Rows, Columns);
        ulong address = first.StorageAddress;
        Assert.That(engine.FreeStorageBlocks, Is.Zero);
        first.Dispose();
        Assert.That(engine.FreeStorageBlocks, Is.EqualTo(1));
        using var second = engine.Compress(input, Rows, Columns);
        Assert.Multiple(() =>
        {
            Assert.That(second.StorageAddress, Is.EqualTo(address));
            Assert.That(engine.FreeStorageBlocks, Is.Zero);
            Assert.That(() => first.ReadDroppedRows(), Throws.TypeOf<ObjectDisposedException>());
        });
    }

    [Test]
    public void Caller_storage_serves_every_engine_of_the_device_and_engine_storage_only_its_own()
    {
        using var making = new PammEngine(Device, Options);
        using var other = new PammEngine(Device, Options, Device.CreateStream());
        using var input = Upload(EngineTestData.Random<float>(Rows, Columns, 11));
        using var gradient = Upload(EngineTestData.Random<float>(Rows, GradientColumns, 12));
        using var expected = Device.Allocate<float>((long)Columns * GradientColumns);
        using var actual = Device.Allocate<float>((long)Columns * GradientColumns);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, DType.Float32));
        using var into = making.CompressInto(input, Rows, Columns, Options, storage);
        using var owned = making.Compress(input, Rows, Columns);
        making.ApproxMatmul(into, gradient, GradientColumns, expected);
        making.Stream.Synchronize();
        other.ApproxMatmul(into, gradient, GradientColumns, actual);
        Assert.Multiple(() =>
        {
            Assert.That(actual.ToArray(other.Stream), Is.EqualTo(expected.ToArray(making.Stream)));
            Assert.That(() => other.ApproxMatmul(owned, gradient, GradientColumns, actual),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("compressed"));
        });
    }

    private void AssertCallerMemoryMatchesOwned<T>() where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        var x = EngineTestData.Random<T>(Rows, Columns, 3);
        var g = EngineTestData.Random<T>(Rows, GradientColumns, 4);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var gradient = Upload(g);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, dtype));
        long workspaceBytes = Math.Max(PammEngine.CompressWorkspaceBytes(Rows, Columns, K),
            PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, dtype, GradientColumns, dtype));
        using var workspace = Device.Allocate<byte>(workspaceBytes);
        using var owned = engine.Compress(input, Rows, Columns, Options);
        using var into = engine.CompressInto(input, Rows, Columns, Options, storage, workspace);
        using var ownedProduct = Device.Allocate<T>((long)Columns * GradientColumns);
        using var intoProduct = Device.Allocate<T>((long)Columns * GradientColumns);
        engine.ApproxMatmul(owned, gradient, GradientColumns, ownedProduct, ProductLayout.GradientByInput);
        engine.ApproxMatmul(into, gradient, GradientColumns, intoProduct, ProductLayout.GradientByInput, workspace: workspace);
        Assert.Multiple(() =>
        {
            Assert.That(owned.OwnsStorage && !into.OwnsStorage, Is.True);
            Assert.That(into.CopyGenerators<T>(), Is.EqualTo(owned.CopyGenerators<T>()));
            Assert.That(into.CopyAssignment(), Is.EqualTo(owned.CopyAssignment()));
            Assert.That(into.CopyAlpha(), Is.EqualTo(owned.CopyAlpha()));
            Assert.That(into.ReadDroppedRows(), Is.EqualTo(owned.ReadDroppedRows()));
            Assert.That(into.ReadDroppedRows(), Is.Positive, "ε = 0.3 must drop rows for η to be compared meaningfully");
            Assert.That(intoProduct.ToArray(engine.Stream), Is.EqualTo(ownedProduct.ToArray(engine.Stream)));
        });
    }

    private static void AssertRejected(string parameter, string messagePart, Action call)
    {
        var exception = Assert.Catch<ArgumentException>(() => call());
        Assert.That(exception?.ParamName, Is.EqualTo(parameter), exception?.Message);
        Assert.That(exception?.Message, Does.Contain(messagePart));
    }
}
