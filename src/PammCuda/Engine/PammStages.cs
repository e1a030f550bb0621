using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The engine's pipeline one stage at a time, for benchmarks that time each kernel on its own: compression of X
/// (b × n) and one product <c>Xᵀ G</c> (n × m, <see cref="ProductLayout.InputByGradient"/>, a = 1, c = 0), with X, G
/// and the output all of one dtype. Each stage queues exactly the launches <see cref="PammEngine"/> queues for it,
/// through the same <see cref="PammKernels"/> launchers and <see cref="RowGrouping"/>, on inputs the earlier stages
/// left in the runner's own scratch and compressed buffers. Every stage rewrites all it writes, so any stage can be
/// repeated once the whole pipeline has run (<see cref="Compress"/>, then <see cref="Product"/>).
/// </summary>
internal sealed class PammStages : IDisposable
{
    private readonly IDeviceStream _stream;
    private readonly ulong _x, _gradient, _output;
    private readonly ulong _seed;
    private readonly double _keepThreshold;
    private readonly GemmScalars _scalars;
    private readonly DeviceBuffer<byte> _compressWorkspace, _productWorkspace;
    private readonly CompressWorkspace _compressScratch;
    private readonly ProductWorkspace _productScratch;
    private (ulong Keys, ulong Rows)? _sorted;
    private bool _disposed;

    /// <exception cref="ArgumentNullException">A null device, stream or options.</exception>
    /// <exception cref="ArgumentException">A null device pointer, a stream of another device, or explicit generator indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, an unknown dtype, or options that do not fit <paramref name="rows"/>.</exception>
    public PammStages(IComputeDevice device, IDeviceStream stream, PammOptions options,
        ulong x, int rows, int columns, ulong gradient, int gradientColumns, ulong output, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        if (!ReferenceEquals(stream.Device, device))
            throw new ArgumentException("The stream belongs to another device.", nameof(stream));
        if (options.GeneratorIndices is not null)
            throw new ArgumentException("The stage runner samples its generators: explicit generator indices skip a stage it times.", nameof(options));
        CheckPointer(x, nameof(x));
        CheckPointer(gradient, nameof(gradient));
        CheckPointer(output, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype.");
        K = options.ResolveK(rows);

        _stream = stream;
        _x = x;
        _gradient = gradient;
        _output = output;
        Rows = rows;
        Columns = columns;
        GradientColumns = gradientColumns;
        DType = dtype;
        _seed = options.Seed;
        TestsNeighbourhood = options.Epsilon < 1;
        _keepThreshold = 1 - options.Epsilon * options.Epsilon;
        SimilarityChunkRows = SimilarityChunking.ChunkRows(rows, columns, K);

        var made = new List<IDisposable>();
        try
        {
            _scalars = Track(made, new GemmScalars(device, stream));
            Generators = Track(made, device.Allocate<byte>((long)K * columns * dtype.SizeOf()));
            Assignment = Track(made, device.Allocate<byte>((long)rows * CompressedSize.AssignmentBytesPerRow(K)));
            Alpha = Track(made, device.Allocate<float>(rows));
            Dropped = Track(made, device.Allocate<int>(1));
            _compressWorkspace = Track(made, device.Allocate<byte>(CompressWorkspace.Bytes(rows, columns, K)));
            _productWorkspace = Track(made, device.Allocate<byte>(ProductWorkspace.Bytes(rows, columns, K, dtype, gradientColumns, dtype)));
            _compressScratch = CompressWorkspace.At(_compressWorkspace.Address, rows, columns, K);
            _productScratch = ProductWorkspace.At(_productWorkspace.Address, rows, columns, K, dtype, gradientColumns, dtype);
        }
        catch
        {
            foreach (var buffer in made) buffer.Dispose();
            throw;
        }
    }

    /// <summary>The stream every stage is queued on.</summary>
    public IDeviceStream Stream => _stream;

    /// <summary>b.</summary>
    public int Rows { get; }

    /// <summary>n.</summary>
    public int Columns { get; }

    /// <summary>m.</summary>
    public int GradientColumns { get; }

    /// <summary>k.</summary>
    public int K { get; }

    /// <summary>Element type of X, G and the output.</summary>
    public DType DType { get; }

    /// <summary>ε &lt; 1: the engine computes the row norms and the assignment drops rows outside the ε test.</summary>
    public bool TestsNeighbourhood { get; }

    /// <summary>Rows per similarity GEMM and assignment launch, as the engine chunks them.</summary>
    public int SimilarityChunkRows { get; }

    /// <summary>Chunks of the similarity GEMM and assignment.</summary>
    public int SimilarityChunks => (Rows + SimilarityChunkRows - 1) / SimilarityChunkRows;

    /// <summary>The product runs through a float32 copy of the 16-bit generators.</summary>
    public bool WidensGenerators => DType != DType.Float32;

    /// <summary>The final GEMM writes a float32 product that the epilogue rounds into the 16-bit output.</summary>
    public bool StoresOutput => DType != DType.Float32;

    /// <summary>C, row-major k × n in <see cref="DType"/>.</summary>
    public DeviceBuffer<byte> Generators { get; }

    /// <summary>f, 16 or 32 bits per row as <see cref="CompressedSize.AssignmentBytesPerRow"/> says.</summary>
    public DeviceBuffer<byte> Assignment { get; }

    /// <summary>α, one float32 per row.</summary>
    public DeviceBuffer<float> Alpha { get; }

    /// <summary>η.</summary>
    public DeviceBuffer<int> Dropped { get; }

    /// <summary>The engine's compression: every compression stage in order.</summary>
    public void Compress()
    {
        SampleGenerators();
        Gather();
        if (TestsNeighbourhood) RowSquaredNorms();
        for (int chunk = 0; chunk < SimilarityChunks; chunk++)
        {
            Similarities(chunk);
            Assign(chunk);
        }
    }

    /// <summary>The engine's product from the compressed X: every product stage in order.</summary>
    public void Product()
    {
        GroupRows();
        ReduceChunks();
        ReduceGroups();
        if (WidensGenerators) WidenGenerators();
        ProductScalars();
        FinalGemm();
        if (StoresOutput) StoreOutput();
    }

    /// <summary>Generator sampling: the k generator rows, ascending.</summary>
    public void SampleGenerators()
    {
        ThrowIfDisposed();
        PammKernels.SampleGenerators(_stream, _compressScratch.Sampling, Rows, K, _seed, GeneratorRows);
    }

    /// <summary>Gathers C and ‖C_j‖² and marks the generator rows in the row map (cleared first, as the engine does).</summary>
    public void Gather()
    {
        ThrowIfDisposed();
        _stream.Fill32Async(RowToGenerator, uint.MaxValue, Rows);
        PammKernels.Gather(_stream, DType, _x, Columns, GeneratorRows, K, Generators.Address, GeneratorSquaredNorms, RowToGenerator);
    }

    /// <summary>‖X_i‖² of every row. The engine runs it only when ε &lt; 1; it can be timed either way.</summary>
    public void RowSquaredNorms()
    {
        ThrowIfDisposed();
        PammKernels.RowSquaredNorms(_stream, DType, _x, Rows, Columns, RowSquaredNormsAddress);
    }

    /// <summary>S = X_chunk Cᵀ of one chunk, full float32 (no TF32: the argmax and α need it).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> outside [0, <see cref="SimilarityChunks"/>).</exception>
    public void Similarities(int chunk)
    {
        ThrowIfDisposed();
        var (first, count) = ChunkRows(chunk);
        _stream.Gemm(SimilarityChunking.Gemm(_x, first, count, Columns, DType, Generators.Address, K,
            _scalars.One, _scalars.Zero, SimilaritiesAddress));
    }

    /// <summary>
    /// Assignment of one chunk from its similarities. The first chunk also zeroes η, which the engine does once
    /// per compression, so that repeating this stage does not accumulate η.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> outside [0, <see cref="SimilarityChunks"/>).</exception>
    public void Assign(int chunk)
    {
        ThrowIfDisposed();
        var (first, count) = ChunkRows(chunk);
        if (chunk == 0) _stream.Fill32Async(Dropped.Address, 0u, 1);
        PammKernels.Assign(_stream, CompressedSize.AssignmentBytesPerRow(K) == 2, SimilaritiesAddress, first, count, K,
            GeneratorSquaredNorms, TestsNeighbourhood ? RowSquaredNormsAddress : 0UL, _keepThreshold, RowToGenerator,
            Assignment.Address, Alpha.Address, Dropped.Address);
    }

    /// <summary>Radix-sort grouping of the rows by generator.</summary>
    public void GroupRows()
    {
        ThrowIfDisposed();
        _sorted = RowGrouping.Sort(_stream, _productScratch, Assignment.Address, Rows, K);
    }

    /// <summary>First reduction pass: per-(chunk, generator) partial sums of α_i G_i.</summary>
    /// <exception cref="InvalidOperationException"><see cref="GroupRows"/> has not run.</exception>
    public void ReduceChunks()
    {
        ThrowIfDisposed();
        var (keys, rows) = Sorted;
        PammKernels.ReduceChunks(_stream, DType, keys, rows, Rows, Alpha.Address, _gradient, GradientColumns, Partials);
    }

    /// <summary>Second reduction pass: B̃ (k × m float32) from the partial sums.</summary>
    /// <exception cref="InvalidOperationException"><see cref="GroupRows"/> has not run.</exception>
    public void ReduceGroups()
    {
        ThrowIfDisposed();
        PammKernels.ReduceGroups(_stream, Sorted.Keys, Rows, Partials, GradientColumns, K, Reduced);
    }

    /// <summary>16-bit C widened to float32, since B̃ is float32.</summary>
    /// <exception cref="InvalidOperationException">The generators are float32 already.</exception>
    public void WidenGenerators()
    {
        ThrowIfDisposed();
        if (!WidensGenerators) throw new InvalidOperationException("Float32 generators are not widened.");
        PammKernels.ConvertToSingle(_stream, DType, Generators.Address, (long)K * Columns, WideGenerators);
    }

    /// <summary>a·β and c for the final GEMM, computed on the device from η.</summary>
    public void ProductScalars()
    {
        ThrowIfDisposed();
        PammKernels.ProductScalars(_stream, Dropped.Address, Rows, 1f, 0f, _scalars.Alpha);
    }

    /// <summary><c>a·β·Cᵀ B̃</c> as row-major n × m: into the output for float32, into a float32 scratch product otherwise.</summary>
    public void FinalGemm()
    {
        ThrowIfDisposed();
        ulong generators = WidensGenerators ? WideGenerators : Generators.Address;
        ulong target = StoresOutput ? ProductScratch : _output;
        ulong beta = StoresOutput ? _scalars.Zero : _scalars.Beta;
        var operands = new ProductOperands(generators, DType.Float32, Columns, Reduced, DType.Float32, GradientColumns, K);
        _stream.Gemm(operands.Gemm(ProductLayout.InputByGradient, _scalars.Alpha, beta, target, DType.Float32, allowTf32: false));
    }

    /// <summary>The 16-bit epilogue: the float32 product rounded once into the output.</summary>
    /// <exception cref="InvalidOperationException">The output is float32, which the final GEMM writes itself.</exception>
    public void StoreOutput()
    {
        ThrowIfDisposed();
        if (!StoresOutput) throw new InvalidOperationException("A float32 output is written by the final GEMM.");
        PammKernels.StoreOutput(_stream, DType, ProductScratch, (long)Columns * GradientColumns, 0f, _output);
    }

    /// <summary>Frees the runner's scratch and compressed buffers (the inputs and output belong to the caller).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Synchronize();
        _compressWorkspace.Dispose();
        _productWorkspace.Dispose();
        _scalars.Dispose();
        Generators.Dispose();
        Assignment.Dispose();
        Alpha.Dispose();
        Dropped.Dispose();
    }

    private ulong GeneratorRows => _compressScratch.GeneratorRows;

    private ulong RowToGenerator => _compressScratch.RowToGenerator;

    private ulong GeneratorSquaredNorms => _compressScratch.GeneratorSquaredNorms;

    private ulong RowSquaredNormsAddress => _compressScratch.RowSquaredNorms;

    private ulong SimilaritiesAddress => _compressScratch.Similarities;

    private ulong Partials => _productScratch.Partials;

    private ulong Reduced => _productScratch.Reduced;

    private ulong WideGenerators => _productScratch.WideGenerators;

    private ulong ProductScratch => _productScratch.Product;

    private (ulong Keys, ulong Rows) Sorted => _sorted ?? throw new InvalidOperationException("GroupRows has not run.");

    private (int First, int Count) ChunkRows(int chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunk);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chunk, SimilarityChunks);
        int first = chunk * SimilarityChunkRows;
        return (first, Math.Min(SimilarityChunkRows, Rows - first));
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static T Track<T>(List<IDisposable> made, T buffer) where T : IDisposable
    {
        made.Add(buffer);
        return buffer;
    }

    private static void CheckPointer(ulong address, string name)
    {
        if (address == 0) throw new ArgumentException("The device pointer is null.", name);
    }
}
