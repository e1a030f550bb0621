using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// The cost of compression inside the forward pass (issue 14, design §8): the plain Q/K/V GEMM a framework runs,
/// X (b × n) · [W_q; W_k; W_v]ᵀ with n = d_q = d_k = d_v and the output in X's type, against
/// <see cref="PammEngine.ProjectAndCompressInto"/>, which runs one GEMM with [W; C] and compresses from its similarity
/// columns, and against the plain GEMM followed by the engine's own compression (what <c>PammQKV</c> runs by default);
/// and against the plain GEMM with that compression beside it on a second stream (forked before the GEMM, joined after),
/// of normal or high priority (what <c>PammQKV(overlap_compression=True)</c> uses);
/// and the bare GEMM with [W; C] writing X's type, the least that a fused path without float32 staging could cost.
/// All on the benchmark stream (the side-by-side row's compression on a second stream of the same device), float32 and bfloat16, at <see cref="ShapeSets.Projection"/> (n = 768, 2048 and 4096; --quick: 768 and 2048 at b = 16384; r = 1/512); the <c>compression cost</c>
/// column gives each one's extra time in % of the plain GEMM.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet frees the fields in [GlobalCleanup]; it subclasses benchmark classes and never disposes them.")]
public class GpuProjectionBenchmarks() : CompressionBenchmarks(ShapeSets.Projection)
{
    private readonly List<IDisposable> _owned = [];
    private DeviceTimer? _timer;
    private GemmDescriptor _plainGemm;
    private GemmDescriptor _stackedGemm;
    private ProjectionCompressPass? _fused;
    private CompressPass? _separate;
    private IDeviceStream? _side;
    private CompressPass? _besideGemm;
    private IDeviceStream? _highPrioritySide;
    private CompressPass? _besideGemmHighPriority;

    /// <summary>Uploads X and the stacked weight, and runs both once (which also compiles the kernels).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var device = GpuSession.Device;
        var stream = GpuSession.Stream;
        var options = Ratio.Options;
        int k = options.ResolveK(Rows), m = 3 * Width;
        long elements = (long)Rows * Width;
        var x = Own(device.Allocate<byte>(elements * DType.SizeOf()));
        var weight = Own(device.Allocate<byte>(((long)m + k) * Width * DType.SizeOf()));
        var projection = Own(device.Allocate<byte>((long)Rows * m * DType.SizeOf()));
        var storage = Own(device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Width, k, DType)));
        var workspace = Own(device.Allocate<byte>(PammEngine.ProjectAndCompressWorkspaceBytes(Rows, Width, k, m)));
        var engine = Own(new PammEngine(device, options, stream));
        // The plain GEMMs' α = 1 and β = 0 in device memory (pointer mode device), as a compression's workspace holds them.
        var constants = Own(device.Allocate<float>(2));
        constants.CopyFrom([1f, 0f], stream);
        var scalars = new GemmConstants(constants.Address);
        Upload(x, elements, seed: 1, stream);
        Upload(weight, ((long)m + k) * Width, seed: 2, stream);

        // Row-major b × m = X Wᵀ is column-major m × b = W(as stored, n × m)ᵀ · X(n × b), as nn.Linear asks cuBLAS.
        _plainGemm = new GemmDescriptor(GemmOperation.Transpose, GemmOperation.None, m, Rows, Width,
            scalars.One, weight.Address, DType, Width, x.Address, DType, Width, scalars.Zero, projection.Address, DType, m);
        // Q, K and V each a dense b × n output, as PammQKV asks for them (one block here; each is its own tensor there).
        long outputBytes = elements * DType.SizeOf();
        ProjectionOutput[] outputs = [.. Enumerable.Range(0, 3).Select(i => new ProjectionOutput(projection.Address + (ulong)(i * outputBytes), Width))];
        var stackedOutput = Own(device.Allocate<byte>((long)Rows * (m + k) * DType.SizeOf()));
        _stackedGemm = new GemmDescriptor(GemmOperation.Transpose, GemmOperation.None, m + k, Rows, Width,
            scalars.One, weight.Address, DType, Width, x.Address, DType, Width, scalars.Zero, stackedOutput.Address, DType, m + k);
        var compressed = Own(engine.ProjectAndCompressInto(x.Address, Rows, Width, DType, weight.Address, outputs, options,
            storage.Address, storage.Length, workspace.Address, workspace.Length));
        // The stored size, for the GB/s and Stored columns.
        CaseRecords.RecordCompression(ShapeOf(typeof(GpuProjectionBenchmarks)), compressed);
        _fused = engine.PrepareProjectAndCompress(x.Address, weight.Address, outputs, CompressedParts.Of(compressed), options,
            ProjectionWorkspace.At(workspace.Address, Rows, Width, k, m));
        // The separate compression writes its own storage, so that both compressed forms stay valid.
        var separateStorage = Own(device.Allocate<byte>(PammEngine.CompressedStorageBytes(Rows, Width, k, DType)));
        var compressWorkspace = Own(device.Allocate<byte>(PammEngine.CompressWorkspaceBytes(Rows, Width, k)));
        var separate = Own(engine.CompressInto(x.Address, Rows, Width, DType, options, separateStorage.Address, separateStorage.Length,
            compressWorkspace.Address, compressWorkspace.Length));
        _separate = engine.PrepareCompress(x.Address, CompressedParts.Of(separate), options,
            CompressWorkspace.At(compressWorkspace.Address, Rows, Width, k));
        // The same compression by engines on second streams, into the same storage and workspace (rows run one at a time).
        CompressPass CompressOn(IDeviceStream side)
        {
            var sideEngine = Own(new PammEngine(device, options, side));
            var pass = sideEngine.PrepareCompress(x.Address, CompressedParts.Of(separate), options,
                CompressWorkspace.At(compressWorkspace.Address, Rows, Width, k));
            using (var ready = stream.RecordEvent()) side.WaitFor(ready); // after the compressions above, on the same storage
            pass.Run();
            side.Synchronize();
            return pass;
        }
        _side = Own(device.CreateStream());
        _besideGemm = CompressOn(_side);
        _highPrioritySide = Own(device.CreateStream(StreamPriority.High));
        _besideGemmHighPriority = CompressOn(_highPrioritySide);
        stream.Gemm(_plainGemm);
        _timer = GpuSession.CreateTimer();
        stream.Synchronize();
    }

    /// <summary>Frees the device memory of the case, newest first.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
        _fused = null;
        _separate = null;
        _side = null;
        _besideGemm = null;
        _highPrioritySide = null;
        _besideGemmHighPriority = null;
    }

    /// <summary>The plain Q/K/V GEMM, output in X's type.</summary>
    [Benchmark]
    [Measures(Operation.QkvGemm, IsReference = true)]
    public void QkvGemm() => Time(nameof(QkvGemm), () => GpuSession.Stream.Gemm(_plainGemm));

    /// <summary>The GEMM of X with [W; C] (C as the fused pass copied it in), output in X's type, and nothing else.</summary>
    [Benchmark]
    [Measures(Operation.QkvAndSimilarityGemm)]
    public void QkvAndSimilarityGemm() => Time(nameof(QkvAndSimilarityGemm), () => GpuSession.Stream.Gemm(_stackedGemm));

    /// <summary>The Q/K/V GEMM with the compression from it: the whole <see cref="PammEngine.ProjectAndCompressInto"/>.</summary>
    [Benchmark]
    [Measures(Operation.QkvGemmWithCompression)]
    public void QkvGemmWithCompression() => Time(nameof(QkvGemmWithCompression), Fused.Run);

    /// <summary>The plain Q/K/V GEMM, then <see cref="PammEngine.CompressInto"/> of X on its own.</summary>
    [Benchmark]
    [Measures(Operation.QkvGemmThenCompress)]
    public void QkvGemmThenCompress() => Time(nameof(QkvGemmThenCompress), () =>
    {
        GpuSession.Stream.Gemm(_plainGemm);
        Separate.Run();
    });

    /// <summary>
    /// The plain Q/K/V GEMM with <see cref="PammEngine.CompressInto"/> of X beside it on a second stream: the second stream
    /// waits for the first (so that X is ready), the compression is queued there first, then the GEMM here, and the first
    /// stream waits for the second before the timer's end: how much of the compression the GEMM hides.
    /// </summary>
    [Benchmark]
    [Measures(Operation.QkvGemmBesideCompress)]
    public void QkvGemmBesideCompress() => Time(nameof(QkvGemmBesideCompress), () => GemmBeside(_side, _besideGemm));

    /// <summary>
    /// <see cref="QkvGemmBesideCompress"/> with the second stream of the context's highest priority, as
    /// <c>PammQKV(overlap_compression=True)</c> makes it: the block scheduler then starts the compression's blocks as
    /// the GEMM's retire rather than after the GEMM's queued ones.
    /// </summary>
    [Benchmark]
    [Measures(Operation.QkvGemmBesideCompressHighPriority)]
    public void QkvGemmBesideCompressHighPriority() =>
        Time(nameof(QkvGemmBesideCompressHighPriority), () => GemmBeside(_highPrioritySide, _besideGemmHighPriority));

    /// <summary>The plain GEMM here with <paramref name="compress"/> on <paramref name="side"/>, forked before it and joined after.</summary>
    private void GemmBeside(IDeviceStream? side, CompressPass? compress)
    {
        if (side is null || compress is not { } pass) throw new InvalidOperationException("GlobalSetup has not run.");
        var stream = GpuSession.Stream;
        using (var fork = stream.RecordEvent()) side.WaitFor(fork);
        pass.Run();
        stream.Gemm(_plainGemm);
        using var join = side.RecordEvent();
        stream.WaitFor(join);
    }

    private ProjectionCompressPass Fused => _fused ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private CompressPass Separate => _separate ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private void Time(string method, Action work)
    {
        var timer = _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
        timer.Time(CaseRecords.DeviceTimes(new CaseKey(ShapeOf(typeof(GpuProjectionBenchmarks)), method)), work);
    }

    private void Upload(DeviceBuffer<byte> target, long elements, int seed, IDeviceStream stream)
    {
        if (DType == DType.Float32) Reinterpret<float>(target, elements, seed, stream);
        else if (DType == DType.BFloat16) Reinterpret<BFloat16>(target, elements, seed, stream);
        else throw new InvalidOperationException($"The GPU suite does not run {DType}.");
    }

    private static unsafe void Reinterpret<T>(DeviceBuffer<byte> target, long elements, int seed, IDeviceStream stream) where T : unmanaged
    {
        var values = HostData.SharedUniform<T>(elements, seed);
        fixed (T* source = values)
        {
            stream.UploadAsync(target.Address, source, elements * sizeof(T));
            // The array is shared and stays alive, but the copy must finish while it is pinned.
            stream.Synchronize();
        }
    }

    private TOwned Own<TOwned>(TOwned item) where TOwned : IDisposable
    {
        _owned.Add(item);
        return item;
    }
}
