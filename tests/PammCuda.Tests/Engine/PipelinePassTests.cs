using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// The engine's passes (<see cref="CompressPass"/>, <see cref="ProductPass"/>) as the stage benchmark uses them: after
/// the engine has run a compression and a product, repeating any stage alone leaves every result bit for bit as it was,
/// and a stage that does not apply is refused rather than run on the wrong buffers.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PipelinePassTests(string deviceName) : DeviceFixture(deviceName)
{
    [Test]
    public void Repeating_every_stage_changes_nothing()
    {
        using var pipeline = new Pipeline<BFloat16>(Device, rows: 300, columns: 10, gradientColumns: 9,
            new PammOptions { K = 20, Seed = 3, Epsilon = 0.7 });
        var first = pipeline.Snapshot();
        Assert.That(first.Dropped, Is.Positive, "ε = 0.7 should drop rows here, or η's reset is untested.");

        var (compress, product) = (pipeline.Compress, pipeline.Product);
        compress.SampleGenerators();
        compress.Gather();
        compress.RowSquaredNorms();
        compress.Similarities(0);
        compress.Assign(0);
        compress.Assign(0);
        product.GroupRows();
        product.ReduceChunks();
        product.ReduceGroups();
        product.Expand();
        product.Expand();

        var second = pipeline.Snapshot();
        Assert.Multiple(() =>
        {
            Assert.That(second.Dropped, Is.EqualTo(first.Dropped), "η");
            Assert.That(second.Generators, Is.EqualTo(first.Generators), "C");
            Assert.That(second.Assignment, Is.EqualTo(first.Assignment), "f");
            Assert.That(second.Alpha, Is.EqualTo(first.Alpha), "α");
            Assert.That(second.Output, Is.EqualTo(first.Output), "product");
        });
    }

    [Test]
    public void Running_the_passes_again_gives_the_engines_results_bitwise()
    {
        using var pipeline = new Pipeline<float>(Device, rows: 1000, columns: 6, gradientColumns: 37,
            new PammOptions { K = 300, Seed = 5, Epsilon = 0.9 });
        var engine = pipeline.Snapshot();
        pipeline.Compress.Run();
        pipeline.Product.Run();
        var again = pipeline.Snapshot();
        Assert.That(again, Is.EqualTo(engine).Using<StageResults>((a, b) => a.SameBits(b)));
    }

    [Test]
    public void Stages_that_do_not_apply_are_refused()
    {
        using var pipeline = new Pipeline<float>(Device, rows: 64, columns: 4, gradientColumns: 3,
            new PammOptions { GeneratorIndices = [3, 9, 12, 40] });
        Assert.Multiple(() =>
        {
            Assert.That(pipeline.Compress.SamplesGenerators, Is.False);
            Assert.Throws<InvalidOperationException>(pipeline.Compress.SampleGenerators, "explicit generators are not sampled over");
            Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Compress.Similarities(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Compress.Similarities(pipeline.Compress.SimilarityChunks));
            Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Compress.Assign(1));
        });
    }

    private sealed record StageResults(byte[] Generators, int[] Assignment, float[] Alpha, int Dropped, byte[] Output)
    {
        public bool SameBits(StageResults other) =>
            Generators.SequenceEqual(other.Generators) && Assignment.SequenceEqual(other.Assignment) && Dropped == other.Dropped &&
            Output.SequenceEqual(other.Output) &&
            Alpha.Select(BitConverter.SingleToInt32Bits).SequenceEqual(other.Alpha.Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>
    /// Random X (rows × columns) and G (rows × m) in one dtype, compressed into caller storage and multiplied (a = 1,
    /// c = 0) by an engine, each phase with a workspace of its own, and the two passes over the same buffers.
    /// </summary>
    private sealed class Pipeline<T> : IDisposable where T : unmanaged
    {
        private readonly List<IDisposable> _owned = [];
        private readonly GpuCompressedActivation _compressed;
        private readonly DeviceBuffer<T> _output;
        private readonly IDeviceStream _stream;

        public Pipeline(IComputeDevice device, int rows, int columns, int gradientColumns, PammOptions options)
        {
            var dtype = DTypes.Of<T>();
            int k = options.ResolveK(rows);
            var x = Own(device.Allocate<T>((long)rows * columns));
            var gradient = Own(device.Allocate<T>((long)rows * gradientColumns));
            _output = Own(device.Allocate<T>((long)columns * gradientColumns));
            var storage = Own(device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, dtype)));
            var compressWorkspace = Own(device.Allocate<byte>(PammEngine.CompressWorkspaceBytes(rows, columns, k)));
            var productWorkspace = Own(device.Allocate<byte>(
                PammEngine.ApproxMatmulWorkspaceBytes(rows, columns, k, dtype, gradientColumns, dtype)));
            var engine = Own(new PammEngine(device, options));
            _stream = engine.Stream;
            x.CopyFrom(EngineTestData.Random<T>(rows, columns, seed: rows + columns));
            gradient.CopyFrom(EngineTestData.Random<T>(rows, gradientColumns, seed: rows + columns + 1));

            _compressed = Own(engine.CompressInto(x, rows, columns, options, storage, compressWorkspace));
            engine.ApproxMatmul(_compressed, gradient, gradientColumns, _output, ProductLayout.InputByGradient, 1f, 0f, productWorkspace);
            var parts = CompressedParts.Of(_compressed);
            Compress = engine.PrepareCompress(x.Address, parts, options, CompressWorkspace.At(compressWorkspace.Address, rows, columns, k));
            Product = engine.PrepareProduct(parts, gradient.Address, gradientColumns, dtype, _output.Address, dtype,
                ProductLayout.InputByGradient, 1f, 0f, ProductWorkspace.At(productWorkspace.Address, rows, k, gradientColumns, transientPlan: true));
        }

        public CompressPass Compress { get; }

        public ProductPass Product { get; }

        public StageResults Snapshot() => new(
            MemoryMarshal.AsBytes<T>(_compressed.CopyGenerators<T>()).ToArray(),
            _compressed.CopyAssignment(),
            _compressed.CopyAlpha(),
            _compressed.ReadDroppedRows(),
            MemoryMarshal.AsBytes<T>(_output.ToArray(_stream)).ToArray());

        public void Dispose()
        {
            for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        }

        private TOwned Own<TOwned>(TOwned item) where TOwned : IDisposable
        {
            _owned.Add(item);
            return item;
        }
    }
}
