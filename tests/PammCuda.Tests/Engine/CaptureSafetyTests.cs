using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// What a framework captures into a CUDA graph: an engine made for a stream it has not seen (PyTorch's recipe warms up on
/// a side stream and captures on another), then a training step's calls with caller memory (compress or the one-GEMM
/// projection, the products' plan, three products, freeing) must make none of the calls a capture forbids
/// (<see cref="CaptureRulesDevice"/>), and compute what the same calls compute outside a capture.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class CaptureSafetyTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Rows = 300, Columns = 24, Width = 16, K = 9;

    [TestCase(DType.Float32, false)]
    [TestCase(DType.BFloat16, false)]
    [TestCase(DType.BFloat16, true)]
    public void A_step_on_a_new_engine_of_a_capturing_stream_allocates_and_waits_for_nothing(DType dtype, bool projection)
    {
        if (dtype == DType.Float32) AssertCapturable<float>(projection);
        else AssertCapturable<BFloat16>(projection);
    }

    private void AssertCapturable<T>(bool projection) where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        var options = new PammOptions { K = K, Seed = 21 };
        using var x = Upload(EngineTestData.Random<T>(Rows, Columns, 22));
        using var weight = Upload(EngineTestData.Random<T>(3 * Width + K, Columns, 23));
        using var gradient = Upload(EngineTestData.Random<T>(Rows, Width, 24));
        var block = new CallerBlocks(Device, dtype, projection);

        // Outside any capture, on the device's own stream: this compiles the kernels and makes the cuBLAS handle, as a
        // framework's warm-up step on another stream would.
        float[][] expected;
        using (var warm = new PammEngine(Device))
        {
            Step(warm, x.Address, weight.Address, gradient.Address, dtype, options, block, projection);
            expected = block.Read(Device.DefaultStream, warm.Stream);
        }

        // A new stream, captured from before its engine exists until the step's last call (a framework keeps the engine).
        var rules = new CaptureRulesDevice(Device);
        using var stream = rules.CreateStream();
        rules.Capturing = true;
        var engine = new PammEngine(rules, stream: stream);
        Step(engine, x.Address, weight.Address, gradient.Address, dtype, options, block, projection);
        rules.Capturing = false;
        engine.Dispose();

        Assert.That(rules.Violations, Is.Empty, "calls a CUDA graph capture forbids");
        var captured = block.Read(Device.DefaultStream, stream);
        Assert.Multiple(() =>
        {
            for (int i = 0; i < expected.Length; i++)
                Assert.That(captured[i], Is.EqualTo(expected[i]), i < 3 ? $"product {i}" : $"projection {i - 3} (bytes)");
        });
        block.Dispose();
    }

    /// <summary>One step's calls as the PyTorch layer makes them, all with caller memory (the results stay in <paramref name="block"/>).</summary>
    private static void Step(PammEngine engine, ulong x, ulong weight, ulong gradient, DType dtype, PammOptions options, CallerBlocks block,
        bool projection)
    {
        GpuCompressedActivation compressed = projection
            ? engine.ProjectAndCompressInto(x, Rows, Columns, dtype, weight,
                [new ProjectionOutput(block.Projections[0].Address, Width), new ProjectionOutput(block.Projections[1].Address, Width),
                 new ProjectionOutput(block.Projections[2].Address, Width)],
                options, block.Storage.Address, block.Storage.Length, block.Workspace.Address, block.Workspace.Length)
            : engine.CompressInto(x, Rows, Columns, dtype, options, block.Storage.Address, block.Storage.Length, block.Workspace.Address,
                block.Workspace.Length);
        using (compressed)
        {
            engine.PrepareProductsInto(compressed, block.Plan.Address, block.Plan.Length);
            foreach (var output in block.Products)
                engine.ApproxMatmul(compressed, gradient, Width, dtype, output.Address, DType.Float32, ProductLayout.GradientByInput, 1f, 0f,
                    block.ProductWorkspace.Address, block.ProductWorkspace.Length);
        }
    }

    /// <summary>The caller memory of a step, allocated before the capture as a framework's allocator has it ready.</summary>
    private sealed class CallerBlocks : IDisposable
    {
        public CallerBlocks(IComputeDevice device, DType dtype, bool projection)
        {
            Storage = device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Columns, K, dtype));
            Workspace = device.Allocate<byte>(projection
                ? PammEngine.ProjectAndCompressWorkspaceBytes(Rows, Columns, K, 3 * Width)
                : PammEngine.CompressWorkspaceBytes(Rows, Columns, K));
            Plan = device.Allocate<byte>(PammEngine.ProductPlanBytes(Rows, Columns, K, dtype));
            ProductWorkspace = device.Allocate<byte>(PammEngine.ApproxMatmulWorkspaceBytes(Rows, Columns, K, dtype, Width, DType.Float32, planned: true));
            Projections = [.. Enumerable.Range(0, 3).Select(_ => device.Allocate<byte>((long)Rows * Width * dtype.SizeOf()))];
            Products = [.. Enumerable.Range(0, 3).Select(_ => device.Allocate<float>((long)Width * Columns))];
        }

        public DeviceBuffer<byte> Storage { get; }

        public DeviceBuffer<byte> Workspace { get; }

        public DeviceBuffer<byte> Plan { get; }

        public DeviceBuffer<byte> ProductWorkspace { get; }

        public DeviceBuffer<byte>[] Projections { get; }

        public DeviceBuffer<float>[] Products { get; }

        /// <summary>The three products, then the three projections byte by byte, once <paramref name="stream"/> has finished.</summary>
        public float[][] Read(IDeviceStream reader, IDeviceStream stream)
        {
            stream.Synchronize();
            return [.. Products.Select(p => p.ToArray(reader)), .. Projections.Select(p => p.ToArray(reader).Select(b => (float)b).ToArray())];
        }

        public void Dispose()
        {
            foreach (var buffer in new IDisposable[] { Storage, Workspace, Plan, ProductWorkspace }.Concat(Projections).Concat(Products)) buffer.Dispose();
        }
    }
}
