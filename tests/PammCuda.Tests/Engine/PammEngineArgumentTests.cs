using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineArgumentTests(string deviceName) : DeviceFixture(deviceName)
{
    private const float Sentinel = 12345f;

    [Test]
    public void Bad_compression_arguments_are_rejected_by_name()
    {
        using var engine = new PammEngine(Device, new PammOptions { K = 4 });
        using var x = Upload(new float[20]);
        using var integers = Upload(new int[20]);
        Assert.Multiple(() =>
        {
            Assert.That(() => engine.Compress<float>(null!, 5, 4), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("x"));
            Assert.That(() => engine.Compress(x, 0, 4), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rows"));
            Assert.That(() => engine.Compress(x, 5, 0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("columns"));
            Assert.That(() => engine.Compress(x, 5, 5), Throws.ArgumentException.With.Property("ParamName").EqualTo("x"));
            Assert.That(() => engine.Compress(x, 3, 4), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("K"));
            Assert.That(() => engine.Compress(0UL, 5, 4, DType.Float32), Throws.ArgumentException.With.Property("ParamName").EqualTo("x"));
            Assert.That(() => engine.Compress(x.Address, 5, 4, (DType)7), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("dtype"));
            Assert.That(() => engine.Compress(integers, 5, 4), Throws.ArgumentException.With.Property("ParamName").EqualTo("x"));
        });
        var disposed = Upload(new float[20]);
        disposed.Dispose();
        Assert.That(() => engine.Compress(disposed, 5, 4), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Bad_product_arguments_are_rejected_before_any_work()
    {
        const int rows = 8, columns = 3, m = 2;
        using var engine = new PammEngine(Device, new PammOptions { K = 2 });
        using var other = new PammEngine(Device, new PammOptions { K = 2 });
        using var x = Upload(EngineTestData.Random<float>(rows, columns, 1));
        using var gradient = Upload(EngineTestData.Random<float>(rows, m, 2));
        using var shortGradient = Upload(new float[rows * m - 1]);
        using var output = Upload(Enumerable.Repeat(Sentinel, columns * m).ToArray());
        using var shortOutput = Upload(new float[columns * m - 1]);
        using var compressed = engine.Compress(x, rows, columns);
        using var foreign = other.Compress(x, rows, columns);
        var stale = engine.Compress(x, rows, columns);
        stale.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(() => engine.ApproxMatmul(null!, gradient, m, output), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("compressed"));
            Assert.That(() => engine.ApproxMatmul(foreign, gradient, m, output), Throws.ArgumentException.With.Property("ParamName").EqualTo("compressed"));
            Assert.That(() => engine.ApproxMatmul(stale, gradient, m, output), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => engine.ApproxMatmul(compressed, shortGradient, m, output), Throws.ArgumentException.With.Property("ParamName").EqualTo("gradient"));
            Assert.That(() => engine.ApproxMatmul(compressed, gradient, m, shortOutput), Throws.ArgumentException.With.Property("ParamName").EqualTo("output"));
            Assert.That(() => engine.ApproxMatmul(compressed, gradient, 0, output), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("gradientColumns"));
            // Wider than the reduction's grid can cover: refused by name, not by the launch halfway through the product.
            Assert.That(() => engine.ApproxMatmul(compressed, gradient.Address, PammEngine.MaxGradientColumns + 1, DType.Float32, output.Address, DType.Float32),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("gradientColumns"));
            Assert.That(() => PammEngine.ApproxMatmulWorkspaceBytes(compressed, PammEngine.MaxGradientColumns + 1, DType.Float32),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("gradientColumns"));
            Assert.That(() => engine.ApproxMatmul(compressed, gradient, m, output, (ProductLayout)5), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("layout"));
            Assert.That(() => engine.ApproxMatmul(compressed, 0UL, m, DType.Float32, output.Address, DType.Float32), Throws.ArgumentException.With.Property("ParamName").EqualTo("gradient"));
            Assert.That(() => engine.ApproxMatmul(compressed, gradient.Address, m, DType.Float32, output.Address, (DType)9), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputType"));
        });
        Assert.That(output.ToArray(engine.Stream), Is.All.EqualTo(Sentinel), "a rejected call must not touch the output");
    }

    [Test]
    public void The_widest_gradient_is_what_the_reductions_grid_covers()
    {
        // 65,535 blocks (CUDA's grid.y limit) of the group reduction's 256 threads, one column each.
        Assert.That(PammEngine.MaxGradientColumns, Is.EqualTo(65_535 * 256));
        Assert.That(PammEngine.ApproxMatmulWorkspaceBytes(8, 3, 2, DType.Float32, PammEngine.MaxGradientColumns, DType.Float32), Is.Positive);
    }

    [Test]
    public void A_disposed_engine_refuses_work()
    {
        var engine = new PammEngine(Device);
        engine.Dispose();
        Assert.That(() => engine.SampleGenerators(10, 2, 0), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(() => new PammEngine(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("device"));
    }

    [Test]
    public void Sampling_arguments_are_checked()
    {
        using var engine = new PammEngine(Device);
        Assert.That(() => engine.SampleGenerators(0, 1, 0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rows"));
        Assert.That(() => engine.SampleGenerators(5, 6, 0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("k"));
    }
}
