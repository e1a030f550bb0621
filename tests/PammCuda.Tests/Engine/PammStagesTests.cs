using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// The stage runner the GPU benchmarks time must be the engine's pipeline: its stages, run in order, give the
/// engine's compressed form and product bit for bit, and repeating any stage changes nothing.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammStagesTests(string deviceName) : DeviceFixture(deviceName)
{
    [TestCase(240, 20, 12, 15, double.PositiveInfinity)]
    [TestCase(240, 20, 12, 15, 0.6)]
    [TestCase(1000, 6, 37, 300, double.PositiveInfinity)]
    [TestCase(33, 7, 5, 1, 0.9)]
    public void Float32_stages_match_the_engine_bitwise(int rows, int columns, int gradientColumns, int k, double epsilon) =>
        AssertStagesMatchEngine<float>(rows, columns, gradientColumns, new PammOptions { K = k, Seed = 5, Epsilon = epsilon });

    [TestCase(200, 16, 24, 9, double.PositiveInfinity)]
    [TestCase(200, 16, 24, 9, 0.7)]
    public void Half_stages_match_the_engine_bitwise(int rows, int columns, int gradientColumns, int k, double epsilon) =>
        AssertStagesMatchEngine<Half>(rows, columns, gradientColumns, new PammOptions { K = k, Seed = 6, Epsilon = epsilon });

    [TestCase(200, 16, 24, 9, double.PositiveInfinity)]
    [TestCase(1537, 6, 8, 257, 0.8)]
    public void BFloat16_stages_match_the_engine_bitwise(int rows, int columns, int gradientColumns, int k, double epsilon) =>
        AssertStagesMatchEngine<BFloat16>(rows, columns, gradientColumns, new PammOptions { K = k, Seed = 7, Epsilon = epsilon });

    [Test]
    public void Repeating_every_stage_changes_nothing()
    {
        const int rows = 300, columns = 10, m = 9;
        using var inputs = new Inputs<BFloat16>(Device, rows, columns, m, seed: 11);
        using var stages = inputs.Stages(new PammOptions { K = 20, Seed = 3, Epsilon = 0.7 });
        stages.Compress();
        stages.Product();
        var first = Snapshot(stages, inputs.Output);
        Assert.That(first.Dropped, Is.Positive, "ε = 0.7 should drop rows here, or η's reset is untested.");

        stages.SampleGenerators();
        stages.Gather();
        stages.RowSquaredNorms();
        stages.Similarities(0);
        stages.Assign(0);
        stages.Assign(0);
        stages.GroupRows();
        stages.ReduceChunks();
        stages.ReduceGroups();
        stages.WidenGenerators();
        stages.ProductScalars();
        stages.FinalGemm();
        stages.StoreOutput();
        stages.StoreOutput();

        var second = Snapshot(stages, inputs.Output);
        Assert.Multiple(() =>
        {
            Assert.That(second.Dropped, Is.EqualTo(first.Dropped));
            Assert.That(second.Generators, Is.EqualTo(first.Generators));
            Assert.That(second.Assignment, Is.EqualTo(first.Assignment));
            Assert.That(second.Alpha, Is.EqualTo(first.Alpha));
            Assert.That(second.Output, Is.EqualTo(first.Output));
        });
    }

    [Test]
    public void Reduction_before_grouping_is_refused()
    {
        using var inputs = new Inputs<float>(Device, 64, 4, 3, seed: 1);
        using var stages = inputs.Stages(new PammOptions { K = 4 });
        stages.Compress();
        Assert.Multiple(() =>
        {
            Assert.Throws<InvalidOperationException>(stages.ReduceChunks);
            Assert.Throws<InvalidOperationException>(stages.ReduceGroups);
            Assert.Throws<InvalidOperationException>(stages.WidenGenerators);
            Assert.Throws<InvalidOperationException>(stages.StoreOutput);
        });
    }

    [Test]
    public void Chunks_outside_the_range_are_refused()
    {
        using var inputs = new Inputs<float>(Device, 64, 4, 3, seed: 1);
        using var stages = inputs.Stages(new PammOptions { K = 4 });
        Assert.Multiple(() =>
        {
            Assert.That(stages.SimilarityChunks, Is.EqualTo(1));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stages.Similarities(1))!.ParamName, Is.EqualTo("chunk"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stages.Assign(-1))!.ParamName, Is.EqualTo("chunk"));
        });
    }

    [Test]
    public void Bad_arguments_are_named()
    {
        using var inputs = new Inputs<float>(Device, 64, 4, 3, seed: 1);
        ulong x = inputs.X.Address, g = inputs.Gradient.Address, output = inputs.Output.Address;
        var options = new PammOptions { K = 4 };
        string? Name(Func<PammStages> make) => Assert.Catch<ArgumentException>(() => make().Dispose())!.ParamName;
        Assert.Multiple(() =>
        {
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, 0, 64, 4, g, 3, output, DType.Float32)), Is.EqualTo("x"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, x, 64, 4, 0, 3, output, DType.Float32)), Is.EqualTo("gradient"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, x, 64, 4, g, 3, 0, DType.Float32)), Is.EqualTo("output"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, x, 0, 4, g, 3, output, DType.Float32)), Is.EqualTo("rows"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, x, 64, 4, g, 0, output, DType.Float32)), Is.EqualTo("gradientColumns"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, options, x, 64, 4, g, 3, output, (DType)9)), Is.EqualTo("dtype"));
            Assert.That(Name(() => new PammStages(Device, Device.DefaultStream, new PammOptions { GeneratorIndices = [0, 1] },
                x, 64, 4, g, 3, output, DType.Float32)), Is.EqualTo("options"));
        });
    }

    private void AssertStagesMatchEngine<T>(int rows, int columns, int gradientColumns, PammOptions options) where T : unmanaged
    {
        using var inputs = new Inputs<T>(Device, rows, columns, gradientColumns, seed: rows + columns);
        using var engine = new PammEngine(Device, options);
        using var engineOutput = Device.Allocate<T>((long)columns * gradientColumns);
        using var compressed = engine.Compress(inputs.X, rows, columns);
        engine.ApproxMatmul(compressed, inputs.Gradient, gradientColumns, engineOutput);

        using var stages = inputs.Stages(options);
        stages.Compress();
        stages.Product();
        var staged = Snapshot(stages, inputs.Output);

        Assert.Multiple(() =>
        {
            Assert.That(staged.Dropped, Is.EqualTo(compressed.ReadDroppedRows()), "η");
            Assert.That(staged.Generators, Is.EqualTo(MemoryMarshal.AsBytes<T>(compressed.CopyGenerators<T>()).ToArray()), "C");
            Assert.That(staged.Assignment, Is.EqualTo(compressed.CopyAssignment()), "f");
            Assert.That(staged.Alpha.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(compressed.CopyAlpha().Select(BitConverter.SingleToInt32Bits)), "α");
            Assert.That(staged.Output, Is.EqualTo(MemoryMarshal.AsBytes<T>(engineOutput.ToArray(engine.Stream)).ToArray()), "product");
        });
    }

    private static StageResults Snapshot<T>(PammStages stages, DeviceBuffer<T> output) where T : unmanaged
    {
        var stream = stages.Stream;
        var assignmentBytes = stages.Assignment.ToArray(stream);
        int[] assignment = CompressedSize.AssignmentBytesPerRow(stages.K) == 2
            ? [.. MemoryMarshal.Cast<byte, ushort>(assignmentBytes).ToArray().Select(value => (int)value)]
            : MemoryMarshal.Cast<byte, int>(assignmentBytes).ToArray();
        return new StageResults(
            stages.Generators.ToArray(stream),
            assignment,
            stages.Alpha.ToArray(stream),
            stages.Dropped.ToArray(stream)[0],
            MemoryMarshal.AsBytes<T>(output.ToArray(stream)).ToArray());
    }

    private sealed record StageResults(byte[] Generators, int[] Assignment, float[] Alpha, int Dropped, byte[] Output);

    /// <summary>Random X (rows × columns), G (rows × m) and an output (columns × m) in one dtype.</summary>
    private sealed class Inputs<T> : IDisposable where T : unmanaged
    {
        private readonly int _rows, _columns, _gradientColumns;

        public Inputs(IComputeDevice device, int rows, int columns, int gradientColumns, int seed)
        {
            _rows = rows;
            _columns = columns;
            _gradientColumns = gradientColumns;
            Device = device;
            X = device.Allocate<T>((long)rows * columns);
            Gradient = device.Allocate<T>((long)rows * gradientColumns);
            Output = device.Allocate<T>((long)columns * gradientColumns);
            X.CopyFrom(EngineTestData.Random<T>(rows, columns, seed));
            Gradient.CopyFrom(EngineTestData.Random<T>(rows, gradientColumns, seed + 1));
        }

        public IComputeDevice Device { get; }

        public DeviceBuffer<T> X { get; }

        public DeviceBuffer<T> Gradient { get; }

        public DeviceBuffer<T> Output { get; }

        public PammStages Stages(PammOptions options) => new(Device, Device.DefaultStream, options,
            X.Address, _rows, _columns, Gradient.Address, _gradientColumns, Output.Address, DTypes.Of<T>());

        public void Dispose()
        {
            X.Dispose();
            Gradient.Dispose();
            Output.Dispose();
        }
    }
}
