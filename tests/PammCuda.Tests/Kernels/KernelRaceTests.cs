using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Engine;
using PammCuda.Tests.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The emulator's race check over every kernel of <c>kernels/</c>: each workload runs with the blocks, and a block's threads'
/// turns, in ascending order, in descending order and in two shuffled orders (<see cref="EmulatedExecutionOrder"/>), and
/// must write the same bits each time. A kernel that reads what another thread of its block writes with no barrier or warp
/// collective between them (a missing <c>__syncthreads</c>, a warp assumed to run in lockstep, a write that races a
/// read of the same shared slot) reads it in one order and misses it in another, and one whose result depends on which
/// blocks run first (an atomically built list used as it is) gets another result. Together the workloads launch every
/// kernel the sources export, which the last test holds them to, so a new kernel without a workload fails here.
/// compute-sanitizer's racecheck does this on a GPU; this runs wherever the emulator does, in CI.
/// </summary>
[Requires(Need.Compiler)]
public class KernelRaceTests
{
    // One worker thread runs the blocks exactly in the order; the default (one a processor) also runs them side by side.
    private static readonly (EmulatedExecutionOrder Order, uint Seed, int WorkerThreads)[] OtherOrders =
        [(EmulatedExecutionOrder.Descending, 0, 1), (EmulatedExecutionOrder.Shuffled, 1, 1), (EmulatedExecutionOrder.Shuffled, 2, 0)];

    private EmulatedComputeDevice? _ascending;
    private readonly List<EmulatedComputeDevice> _others = [];

    /// <summary>The workloads by name: what each returns is every byte its kernels wrote that the caller can see.</summary>
    private static readonly Dictionary<string, Func<IComputeDevice, IDeviceStream, byte[]>> Workloads = new()
    {
        ["sampling in one block"] = (device, stream) => Sample(device, stream, rows: PammKernels.SampleBlockRows, k: 300),
        ["sampling over many blocks"] = (device, stream) => Sample(device, stream, rows: PammKernels.SampleBlockRows + 1_000, k: 64),
        ["float32 compression, epsilon 0.5, 16-bit f"] = (device, stream) =>
            CompressAndMultiply<float>(device, stream, 24, new PammOptions { K = 300, Seed = 1, Epsilon = 0.5 }, [], default),
        ["bfloat16 compression with bfloat16 alpha, epsilon 0.9, and three products"] = (device, stream) =>
            CompressAndMultiply<BFloat16>(device, stream, 264, new PammOptions { K = 20, Seed = 2, Epsilon = 0.9, AlphaType = DType.BFloat16 },
                [40, 24, 24], ProductLayout.GradientByInput),
        ["float32 products over two sort passes"] = (device, stream) =>
            CompressAndMultiply<float>(device, stream, 136, new PammOptions { K = 300, Seed = 3 }, [9, 13, 4], ProductLayout.InputByGradient, a: 0.5f, c: 2f),
        ["float16 compression, epsilon 0.8, and one accumulating product"] = (device, stream) =>
            CompressAndMultiply<Half>(device, stream, 520, new PammOptions { K = 20, Seed = 4, Epsilon = 0.8 }, [33], ProductLayout.GradientByInput, a: 2f, c: -1f),
        ["bfloat16 compression with bfloat16 alpha, 16-bit f"] = (device, stream) =>
            CompressAndMultiply<BFloat16>(device, stream, 24, new PammOptions { K = 300, Seed = 5, AlphaType = DType.BFloat16 }, [], default),
        ["assignment with 32-bit f"] = AssignWithWideAssignment,
        ["exact products of mixed and 16-bit dtypes"] = ExactProducts,
        ["projection with compression, every dtype"] = (device, stream) =>
            [.. Project<float>(device, stream), .. Project<Half>(device, stream), .. Project<BFloat16>(device, stream)],
        ["dense assignment matrix, every dtype"] = AssignmentMatrices,
        ["refined generators, every dtype"] = (device, stream) =>
        [
            .. CompressAndMultiply<float>(device, stream, 264, new PammOptions { K = 20, Seed = 6, Epsilon = 0.5, RefineGenerators = true }, [], default),
            .. CompressAndMultiply<Half>(device, stream, 40, new PammOptions { K = 300, Seed = 7, RefineGenerators = true }, [], default),
            .. CompressAndMultiply<BFloat16>(device, stream, 136,
                new PammOptions { K = 20, Seed = 8, AlphaType = DType.BFloat16, RefineGenerators = true }, [12], ProductLayout.GradientByInput),
        ],
    };

    public static IEnumerable<string> WorkloadNames => Workloads.Keys;

    [OneTimeSetUp]
    public void CreateDevices()
    {
        if (Requirements.Missing(Need.Compiler) is not null) return; // [Requires] skips each test
        _ascending = new EmulatedComputeDevice(EmulatedExecutionOrder.Ascending);
        foreach (var (order, seed, workers) in OtherOrders) _others.Add(new EmulatedComputeDevice(order, seed, workers));
    }

    [OneTimeTearDown]
    public void DisposeDevices()
    {
        _ascending?.Dispose();
        foreach (var device in _others) device.Dispose();
    }

    [TestCaseSource(nameof(WorkloadNames))]
    public void A_workload_writes_the_same_bits_whatever_order_the_blocks_and_their_threads_run_in(string workload)
    {
        var run = Workloads[workload];
        byte[] expected = run(_ascending!, _ascending!.DefaultStream);
        Assert.That(expected, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var device in _others)
            {
                byte[] actual = run(device, device.DefaultStream);
                Assert.That(actual, Has.Length.EqualTo(expected.Length));
                int first = Enumerable.Range(0, Math.Min(actual.Length, expected.Length)).FirstOrDefault(i => actual[i] != expected[i], -1);
                Assert.That(first, Is.EqualTo(-1), $"{workload} on {device.Name}: byte {first} differs from the ascending order's");
            }
        });
    }

    [Test]
    public void The_workloads_launch_every_kernel_the_sources_export()
    {
        using var stream = new CountingStream(_ascending!.DefaultStream);
        foreach (var run in Workloads.Values) run(_ascending, stream);
        var exported = KernelSources.TranslationUnits.SelectMany(unit => KernelSources.ExportedKernels(unit.Value));
        Assert.That(exported.Except(stream.Launches), Is.Empty, "kernels that no workload launches, so that no order checks them");
    }

    [Test]
    public void The_orders_are_what_the_devices_say()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_ascending!.ExecutionOrder, Is.EqualTo(EmulatedExecutionOrder.Ascending));
            Assert.That(_others.Select(device => device.ExecutionOrder), Is.EqualTo(OtherOrders.Select(order => order.Order)));
            Assert.That(_others[0].Name, Does.Contain("descending"));
            Assert.That(_others[2].Name, Does.Contain("seed 2"));
            Assert.That(() => new EmulatedComputeDevice((EmulatedExecutionOrder)3),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("executionOrder"));
            foreach (int workers in new[] { -1, 17 })
                Assert.That(() => new EmulatedComputeDevice(EmulatedExecutionOrder.Ascending, 0, workers),
                    Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("workerThreads"));
            using var one = new EmulatedComputeDevice(EmulatedExecutionOrder.Ascending, 0, workerThreads: 1);
            Assert.That(one.Name, Does.Contain("1 worker thread,").Or.EndsWith("1 worker thread)"));
        });
    }

    private static byte[] Sample(IComputeDevice device, IDeviceStream stream, int rows, int k)
    {
        using var engine = new PammEngine(device, stream: stream);
        using var generators = engine.SampleGenerators(rows, k, seed: 11);
        return Bytes(generators.ToArray(stream));
    }

    /// <summary>
    /// A compression into caller storage, its plan into a caller block and, for each width given, a product in one batch:
    /// the storage (C, f, α, η), the plan (the rows grouped by generator) and the outputs. Rows wider than one warp's
    /// share of a block (more than 32 × 16 bytes) give the block-wide sums data in more than one warp.
    /// </summary>
    private static byte[] CompressAndMultiply<T>(IComputeDevice device, IDeviceStream stream, int columns, PammOptions options, int[] widths,
        ProductLayout layout, float a = 1f, float c = 0f) where T : unmanaged
    {
        const int rows = 700;
        int k = options.K!.Value;
        var dtype = DTypes.Of<T>();
        using var engine = new PammEngine(device, options, stream);
        using var input = Upload(device, stream, EngineTestData.Random<T>(rows, columns, seed: k + widths.Length));
        using var storage = device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, dtype, options.AlphaType));
        using var compressed = engine.CompressInto(input, rows, columns, options, storage);
        var written = new List<byte>(storage.ToArray(stream));
        if (widths.Length == 0) return [.. written];

        long planBytes = PammEngine.ProductPlanBytes(rows, columns, k, dtype);
        using var plan = device.Allocate<byte>(planBytes);
        engine.PrepareProductsInto(compressed, plan.Address, planBytes);
        var gradients = widths.Select((width, i) => Upload(device, stream, EngineTestData.Random<T>(rows, width, seed: 100 + i))).ToArray();
        var outputs = widths.Select((width, i) => Upload(device, stream, EngineTestData.Random<T>(columns, width, seed: 200 + i))).ToArray();
        try
        {
            engine.ApproxMatmulBatch<T, T>(compressed, gradients, widths, outputs, layout, a, c);
            written.AddRange(plan.ToArray(stream));
            foreach (var output in outputs) written.AddRange(Bytes(output.ToArray(stream)));
            return [.. written];
        }
        finally
        {
            foreach (var buffer in gradients.Concat(outputs)) buffer.Dispose();
        }
    }

    /// <summary>
    /// f stored in 32 bits takes k > 65,536, too many rows for the emulator to compress: the assignment kernels of that
    /// width run alone, on similarities made up for them, with α in float32 and in bfloat16.
    /// </summary>
    private static byte[] AssignWithWideAssignment(IComputeDevice device, IDeviceStream stream)
    {
        const int rows = 300, k = 40;
        var random = new Random(7);
        float[] similarities = [.. Enumerable.Range(0, rows * k).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        float[] squaredNorms = [.. Enumerable.Range(0, k).Select(_ => (float)(0.5 + random.NextDouble()))];
        float[] rowSquaredNorms = [.. Enumerable.Range(0, rows).Select(_ => (float)(1 + random.NextDouble()))];
        int[] generatorRows = [.. Enumerable.Range(0, k).Select(j => 7 * j)];
        int[] rowToGenerator = [.. Enumerable.Range(0, rows).Select(i => i % 7 == 0 && i / 7 < k ? i / 7 : 0)];
        using var s = Upload(device, stream, similarities);
        using var norms = Upload(device, stream, squaredNorms);
        using var rowNorms = Upload(device, stream, rowSquaredNorms);
        using var generators = Upload(device, stream, generatorRows);
        using var rowMap = Upload(device, stream, rowToGenerator);
        var written = new List<byte>();
        foreach (var alphaType in new[] { DType.Float32, DType.BFloat16 })
        {
            using var assignment = device.Allocate<int>(rows);
            using var alpha = device.Allocate<byte>((long)rows * alphaType.SizeOf());
            using var dropped = Upload(device, stream, new int[1]);
            PammKernels.Assign(stream, AssignmentWidth.Int32, alphaType, s.Address, firstRow: 0, chunkRows: rows, k, similarityStride: k,
                norms.Address, rowNorms.Address, keepThreshold: 0.05, rowMap.Address, generators.Address, assignment.Address, alpha.Address,
                dropped.Address);
            written.AddRange(Bytes(assignment.ToArray(stream)));
            written.AddRange(alpha.ToArray(stream));
            written.AddRange(Bytes(dropped.ToArray(stream)));
        }
        return [.. written];
    }

    /// <summary>The exact product's widening, scalar and 16-bit store kernels: mixed operands meet in float32.</summary>
    private static byte[] ExactProducts(IComputeDevice device, IDeviceStream stream)
    {
        const int rows = 200, columns = 24, m = 17;
        using var engine = new PammEngine(device, stream: stream);
        using var halfX = Upload(device, stream, EngineTestData.Random<Half>(rows, columns, 1));
        using var halfG = Upload(device, stream, EngineTestData.Random<Half>(rows, m, 2));
        using var bfloatG = Upload(device, stream, EngineTestData.Random<BFloat16>(rows, m, 3));
        using var bfloatOutput = Upload(device, stream, EngineTestData.Random<BFloat16>(columns, m, 4));
        using var halfOutput = Upload(device, stream, EngineTestData.Random<Half>(m, columns, 5));
        engine.ExactMatmul(halfX, rows, columns, bfloatG, m, bfloatOutput, ProductLayout.InputByGradient, a: 0.5f, c: 1f);
        engine.ExactMatmul(halfX, rows, columns, halfG, m, halfOutput, ProductLayout.GradientByInput);
        return [.. Bytes(bfloatOutput.ToArray(stream)), .. Bytes(halfOutput.ToArray(stream))];
    }

    /// <summary>The projection X·Wᵀ and the compression from one GEMM: the projection's store and the storage.</summary>
    private static byte[] Project<T>(IComputeDevice device, IDeviceStream stream) where T : unmanaged
    {
        const int rows = 300, columns = 16, m = 21, k = 9;
        var options = new PammOptions { K = k, Seed = 6 };
        using var engine = new PammEngine(device, options, stream);
        using var input = Upload(device, stream, EngineTestData.Random<T>(rows, columns, 8));
        using var weight = Upload(device, stream, EngineTestData.Random<T>(m + k, columns, 9));
        using var projection = device.Allocate<T>((long)rows * m);
        using var storage = device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, DTypes.Of<T>()));
        using var compressed = engine.ProjectAndCompressInto(input, rows, columns, weight, m, projection, options, storage);
        return [.. Bytes(projection.ToArray(stream)), .. storage.ToArray(stream)];
    }

    /// <summary>Pᵀ, the dense assignment the stage benchmark times against the reduction, in every dtype, for 8- and 16-bit f.</summary>
    private static byte[] AssignmentMatrices(IComputeDevice device, IDeviceStream stream)
    {
        const int rows = 400, columns = 8;
        var written = new List<byte>();
        foreach (int k in new[] { 12, 300 })
        {
            var options = new PammOptions { K = k, Seed = 10, AlphaType = k > 256 ? DType.BFloat16 : DType.Float32 };
            using var engine = new PammEngine(device, options, stream);
            using var input = Upload(device, stream, EngineTestData.Random<float>(rows, columns, 11));
            using var compressed = engine.Compress(input, rows, columns);
            foreach (var dtype in Enum.GetValues<DType>())
            {
                using var matrix = device.Allocate<byte>(AssignmentMatrixProduct.MatrixBytes(rows, k, dtype));
                AssignmentMatrixProduct.BuildMatrix(stream, CompressedParts.Of(compressed), dtype, matrix.Address);
                written.AddRange(matrix.ToArray(stream));
            }
        }
        return [.. written];
    }

    private static DeviceBuffer<T> Upload<T>(IComputeDevice device, IDeviceStream stream, T[] values) where T : unmanaged
    {
        var buffer = device.Allocate<T>(values.Length);
        buffer.CopyFrom(values, stream);
        return buffer;
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
