using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// PAMM on a compute device: <see cref="Compress{T}(DeviceBuffer{T}, int, int, PammOptions)"/> keeps generators, assignment and coefficients
/// of an activation X; <see cref="ApproxMatmul{TG, TOut}"/> computes <c>a·Xᵀ G + c·out</c> (or its
/// transpose) from them. Everything is queued on <see cref="Stream"/> without waiting for the device,
/// and scratch memory is reused across calls. Written once against <see cref="IComputeDevice"/>: it
/// runs the same kernels on a GPU and on the emulated device. Not thread-safe: one engine per stream.
/// </summary>
public sealed class PammEngine : IDisposable
{
    private readonly GemmScalars _scalars;
    private readonly DeviceBuffer<int>? _explicitGenerators;
    private readonly EngineScratch _scratch;
    private int[] _hostGeneratorIndices = [];
    private bool _disposed;

    /// <summary>Creates an engine on <paramref name="device"/>, queuing work on <paramref name="stream"/> (default: the device's default stream).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="device"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> belongs to another device.</exception>
    public PammEngine(IComputeDevice device, PammOptions? options = null, IDeviceStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (stream is not null && !ReferenceEquals(stream.Device, device))
            throw new ArgumentException("The stream belongs to another device.", nameof(stream));
        Device = device;
        Options = options ?? new PammOptions();
        Stream = stream ?? device.DefaultStream;
        // Copied once: the engine's options are immutable for its lifetime, so their explicit generators are uploaded here, not per call.
        int[]? explicitGenerators = Options.GeneratorIndices?.ToArray();

        _scalars = new GemmScalars(device, Stream);
        try
        {
            if (explicitGenerators is { Length: > 0 })
            {
                _explicitGenerators = device.Allocate<int>(explicitGenerators.Length);
                _explicitGenerators.CopyFrom(explicitGenerators, Stream);
            }
            _scratch = new EngineScratch(device, Stream);
        }
        catch
        {
            _scalars.Dispose();
            _explicitGenerators?.Dispose();
            throw;
        }
    }

    /// <summary>The device the engine runs on.</summary>
    public IComputeDevice Device { get; }

    /// <summary>The stream all work is queued on.</summary>
    public IDeviceStream Stream { get; }

    /// <summary>How activations are compressed by the overloads of <c>Compress</c> that take no options.</summary>
    public PammOptions Options { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// How compressions compute the similarities: a cuBLAS GEMM (the default) or the fused kernel. Internal so that
    /// tests and the benchmark can compare the two; kernels/README.md says why the default is what it is.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An undefined value.</exception>
    internal SimilarityPath SimilarityPath
    {
        get;
        set => field = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown similarity path.");
    } = SimilarityPath.Gemm;

    /// <summary>Compresses X (row-major <paramref name="rows"/> × <paramref name="columns"/>) held in a device buffer.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="x"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is too small, of another device, or of an unsupported element type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="x"/> was disposed.</exception>
    public GpuCompressedActivation Compress<T>(DeviceBuffer<T> x, int rows, int columns) where T : unmanaged =>
        Compress(x, rows, columns, Options);

    /// <summary>
    /// Compresses X held in a device buffer with <paramref name="options"/> instead of the engine's <see cref="Options"/>:
    /// a framework changes the seed at every training step on one engine. Explicit generator indices other than those of
    /// <see cref="Options"/> are uploaded per call, which waits for the stream (the seeded sampling path never does).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="x"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is too small, of another device, or of an unsupported element type; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="x"/> was disposed.</exception>
    public GpuCompressedActivation Compress<T>(DeviceBuffer<T> x, int rows, int columns, PammOptions options) where T : unmanaged
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        var dtype = DTypeOf<T>(nameof(x));
        CheckShape(rows, columns);
        CheckBuffer(x, (long)rows * columns, nameof(x));
        return CompressCore(x.Address, rows, columns, dtype, options);
    }

    /// <summary>Compresses X at a device address that a framework owns (row-major <paramref name="rows"/> × <paramref name="columns"/> of <paramref name="dtype"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is a null pointer.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, an unknown dtype, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation Compress(ulong x, int rows, int columns, DType dtype) => Compress(x, rows, columns, dtype, Options);

    /// <summary>Compresses X at a device address that a framework owns with <paramref name="options"/> instead of the engine's <see cref="Options"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> is a null pointer; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, an unknown dtype, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation Compress(ulong x, int rows, int columns, DType dtype, PammOptions options)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        CheckPointer(x, nameof(x));
        CheckDType(dtype, nameof(dtype));
        CheckShape(rows, columns);
        return CompressCore(x, rows, columns, dtype, options);
    }

    /// <summary>
    /// <c>output = a·β·Cᵀ B̃ + c·output</c> (n × m, <see cref="ProductLayout.InputByGradient"/>) or its
    /// transpose (m × n, <see cref="ProductLayout.GradientByInput"/>), approximating <c>a·Xᵀ G + c·output</c>;
    /// G is row-major <c>compressed.Rows</c> × <paramref name="gradientColumns"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null argument.</exception>
    /// <exception cref="ArgumentException">A buffer too small, of another device or of an unsupported type; a compressed activation of another engine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> below 1 or an unknown layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine, a buffer or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmul<TG, TOut>(GpuCompressedActivation compressed, DeviceBuffer<TG> gradient, int gradientColumns,
        DeviceBuffer<TOut> output, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f)
        where TG : unmanaged where TOut : unmanaged
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        var gradientType = DTypeOf<TG>(nameof(gradient));
        var outputType = DTypeOf<TOut>(nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        CheckLayout(layout);
        CheckBuffer(gradient, (long)compressed.Rows * gradientColumns, nameof(gradient));
        CheckBuffer(output, (long)compressed.Columns * gradientColumns, nameof(output));
        ApproxMatmulCore(compressed, gradient.Address, gradientColumns, gradientType, output.Address, outputType, layout, a, c);
    }

    /// <summary>The same product on device addresses that a framework owns.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentException">A null pointer, or a compressed activation of another engine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> below 1, an unknown dtype or layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmul(GpuCompressedActivation compressed, ulong gradient, int gradientColumns, DType gradientType,
        ulong output, DType outputType, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f)
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        CheckPointer(gradient, nameof(gradient));
        CheckPointer(output, nameof(output));
        CheckDType(gradientType, nameof(gradientType));
        CheckDType(outputType, nameof(outputType));
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        CheckLayout(layout);
        ApproxMatmulCore(compressed, gradient, gradientColumns, gradientType, output, outputType, layout, a, c);
    }

    /// <summary>
    /// The exact product <c>output = a·Xᵀ G + c·output</c> (or its transpose) with cuBLAS, float32
    /// accumulation: the reference that tests and benchmarks compare PAMM with. TF32 only when asked.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null buffer.</exception>
    /// <exception cref="ArgumentException">A buffer too small, of another device or of an unsupported type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1 or an unknown layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine or a buffer was disposed.</exception>
    public void ExactMatmul<T, TG, TOut>(DeviceBuffer<T> x, int rows, int columns, DeviceBuffer<TG> gradient, int gradientColumns,
        DeviceBuffer<TOut> output, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f, bool allowTf32 = false)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        ThrowIfDisposed();
        var inputType = DTypeOf<T>(nameof(x));
        var gradientType = DTypeOf<TG>(nameof(gradient));
        var outputType = DTypeOf<TOut>(nameof(output));
        CheckShape(rows, columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        CheckLayout(layout);
        CheckBuffer(x, (long)rows * columns, nameof(x));
        CheckBuffer(gradient, (long)rows * gradientColumns, nameof(gradient));
        CheckBuffer(output, (long)columns * gradientColumns, nameof(output));

        ulong input = x.Address, grad = gradient.Address;
        var operandType = inputType;
        if (inputType != gradientType)
        {
            // cuBLAS multiplies operands of one type only: mixed inputs meet in float32.
            input = Widen(_scratch.WideGenerators, x.Address, (long)rows * columns, inputType);
            grad = Widen(_scratch.WideGradient, gradient.Address, (long)rows * gradientColumns, gradientType);
            operandType = DType.Float32;
        }
        var product = new ProductOperands(input, operandType, columns, grad, operandType, gradientColumns, rows);
        PammKernels.ProductScalars(Stream, 0UL, rows, a, c, _scalars.Alpha);
        RunProduct(product, layout, output.Address, outputType, c, allowTf32);
    }

    /// <summary>The generator sampling kernel alone: the k rows of <paramref name="rows"/> that seed <paramref name="seed"/> picks, ascending.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> below 1 or <paramref name="k"/> outside [1, rows].</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public DeviceBuffer<int> SampleGenerators(int rows, int k, ulong seed)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}].");
        var generators = Device.Allocate<int>(k);
        PammKernels.SampleGenerators(Stream, _scratch.Sampling, rows, k, seed, generators.Address);
        return generators;
    }

    /// <summary>Frees the engine's scratch and constants (compressed activations stay valid until disposed themselves).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _scratch.Dispose();
        _scalars.Dispose();
        _explicitGenerators?.Dispose();
    }

    internal static bool TryDTypeOf<T>(out DType dtype) where T : unmanaged
    {
        dtype = default;
        if (typeof(T) != typeof(float) && typeof(T) != typeof(Half) && typeof(T) != typeof(BFloat16)) return false;
        dtype = DTypes.Of<T>();
        return true;
    }

    private GpuCompressedActivation CompressCore(ulong x, int rows, int columns, DType dtype, PammOptions options)
    {
        int k = options.ResolveK(rows);
        var compressed = new GpuCompressedActivation(this, rows, columns, k, dtype);
        try
        {
            Stream.Fill32Async(compressed.DroppedAddress, 0u, 1);
            ulong generatorRows = GeneratorRows(options, rows, k);

            ulong rowToGenerator = _scratch.RowToGenerator.Ensure((long)rows * sizeof(int));
            Stream.Fill32Async(rowToGenerator, uint.MaxValue, rows);
            ulong squaredNorms = _scratch.GeneratorSquaredNorms.Ensure((long)k * sizeof(float));
            PammKernels.Gather(Stream, dtype, x, columns, generatorRows, k, compressed.GeneratorsAddress, squaredNorms, rowToGenerator);

            // ε ≥ 1 keeps every row, so the row norms that only the ε test reads are not computed at all.
            bool testNeighbourhood = options.Epsilon < 1;
            ulong rowSquaredNorms = 0;
            if (testNeighbourhood)
            {
                rowSquaredNorms = _scratch.RowSquaredNorms.Ensure((long)rows * sizeof(float));
                PammKernels.RowSquaredNorms(Stream, dtype, x, rows, columns, rowSquaredNorms);
            }
            double keepThreshold = 1 - options.Epsilon * options.Epsilon;

            if (SimilarityPath == SimilarityPath.Fused)
                PammKernels.SimilarityArgmax(Stream, dtype, compressed.HasCompactAssignment, x, rows, columns, compressed.GeneratorsAddress, k,
                    squaredNorms, rowSquaredNorms, keepThreshold, rowToGenerator, compressed.AssignmentAddress, compressed.AlphaAddress,
                    compressed.DroppedAddress);
            else
                AssignRows(x, rows, columns, dtype, k, compressed, squaredNorms, rowSquaredNorms, keepThreshold, rowToGenerator);
            return compressed;
        }
        catch
        {
            compressed.Dispose();
            throw;
        }
    }

    /// <summary>The device address of the k generator rows of <paramref name="options"/>: sampled, uploaded at construction, or uploaded now.</summary>
    private ulong GeneratorRows(PammOptions options, int rows, int k)
    {
        if (options.GeneratorIndices is not { } indices)
        {
            ulong sampled = _scratch.GeneratorRows.Ensure((long)k * sizeof(int));
            PammKernels.SampleGenerators(Stream, _scratch.Sampling, rows, k, options.Seed, sampled);
            return sampled;
        }
        // The engine's own options were copied and uploaded once at construction; ResolveK has rejected an empty list.
        return ReferenceEquals(options, Options) ? _explicitGenerators!.Address : UploadGeneratorIndices(indices);
    }

    /// <summary>
    /// Uploads per-call explicit generator indices into scratch through one reused host array. The upload's host
    /// memory must stay valid until the copy completes, and the next call rewrites that array, so this waits for the
    /// stream: a host synchronisation on a path meant for tests and reproductions, never taken by seeded sampling.
    /// </summary>
    private unsafe ulong UploadGeneratorIndices(IReadOnlyList<int> indices)
    {
        int k = indices.Count;
        if (_hostGeneratorIndices.Length < k) _hostGeneratorIndices = new int[k];
        for (int j = 0; j < k; j++) _hostGeneratorIndices[j] = indices[j];
        ulong uploaded = _scratch.GeneratorRows.Ensure((long)k * sizeof(int));
        fixed (int* source = _hostGeneratorIndices)
        {
            // Inside the fixed block: the array stays pinned until the copy has completed.
            Stream.UploadAsync(uploaded, source, (long)k * sizeof(int));
            Stream.Synchronize();
        }
        return uploaded;
    }

    private void AssignRows(ulong x, int rows, int columns, DType dtype, int k, GpuCompressedActivation compressed,
        ulong squaredNorms, ulong rowSquaredNorms, double keepThreshold, ulong rowToGenerator)
    {
        int chunkRows = SimilarityChunking.ChunkRows(rows, columns, k);
        ulong similarities = _scratch.Similarities.Ensure((long)chunkRows * k * sizeof(float));
        for (int first = 0; first < rows; first += chunkRows)
        {
            int count = Math.Min(chunkRows, rows - first);
            Stream.Gemm(SimilarityChunking.Gemm(x, first, count, columns, dtype, compressed.GeneratorsAddress, k,
                _scalars.One, _scalars.Zero, similarities));
            PammKernels.Assign(Stream, compressed.HasCompactAssignment, similarities, first, count, k, squaredNorms, rowSquaredNorms,
                keepThreshold, rowToGenerator, compressed.AssignmentAddress, compressed.AlphaAddress, compressed.DroppedAddress);
        }
    }

    private void ApproxMatmulCore(GpuCompressedActivation compressed, ulong gradient, int gradientColumns, DType gradientType,
        ulong output, DType outputType, ProductLayout layout, float a, float c)
    {
        int rows = compressed.Rows, columns = compressed.Columns, k = compressed.K;
        var (sortedKeys, sortedRows) = RowGrouping.Sort(Stream, _scratch, compressed.AssignmentAddress, rows, k);
        ulong partials = _scratch.ReducePartials.Ensure(PammKernels.ReducePieces(rows, k) * gradientColumns * sizeof(float));
        PammKernels.ReduceChunks(Stream, gradientType, sortedKeys, sortedRows, rows, compressed.AlphaAddress,
            gradient, gradientColumns, partials);
        ulong reduced = _scratch.Reduced.Ensure((long)k * gradientColumns * sizeof(float));
        PammKernels.ReduceGroups(Stream, sortedKeys, rows, partials, gradientColumns, k, reduced);

        // B̃ is float32, so the generators meet it in float32.
        ulong generators = compressed.DType == DType.Float32
            ? compressed.GeneratorsAddress
            : Widen(_scratch.WideGenerators, compressed.GeneratorsAddress, (long)k * columns, compressed.DType);
        var product = new ProductOperands(generators, DType.Float32, columns, reduced, DType.Float32, gradientColumns, k);
        PammKernels.ProductScalars(Stream, compressed.DroppedAddress, rows, a, c, _scalars.Alpha);
        RunProduct(product, layout, output, outputType, c, allowTf32: false);
    }

    /// <summary>
    /// <c>output = scalars[α]·Lᵀ R + c·output</c> for row-major L (inner × leftColumns) and R (inner × rightColumns),
    /// as n × m (InputByGradient) or m × n (GradientByInput). A 16-bit output goes through a float32
    /// product and is rounded once by the epilogue kernel.
    /// </summary>
    private void RunProduct(in ProductOperands operands, ProductLayout layout, ulong output, DType outputType, float c, bool allowTf32)
    {
        bool direct = outputType == DType.Float32;
        ulong target = direct
            ? output
            : _scratch.Product.Ensure((long)operands.LeftColumns * operands.RightColumns * sizeof(float));
        ulong beta = direct ? _scalars.Beta : _scalars.Zero;
        var targetType = direct ? outputType : DType.Float32;
        Stream.Gemm(operands.Gemm(layout, _scalars.Alpha, beta, target, targetType, allowTf32));
        if (!direct)
            PammKernels.StoreOutput(Stream, outputType, target, (long)operands.LeftColumns * operands.RightColumns, c, output);
    }

    private ulong Widen(GrowOnlyBuffer scratch, ulong source, long count, DType sourceType)
    {
        if (sourceType == DType.Float32) return source;
        ulong target = scratch.Ensure(count * sizeof(float));
        PammKernels.ConvertToSingle(Stream, sourceType, source, count, target);
        return target;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void CheckCompressed(GpuCompressedActivation compressed)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        if (!ReferenceEquals(compressed.Engine, this))
            throw new ArgumentException("The compressed activation was made by another engine.", nameof(compressed));
        compressed.ThrowIfDisposed();
    }

    private void CheckBuffer<T>(DeviceBuffer<T> buffer, long needed, string name) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (!ReferenceEquals(buffer.Device, Device))
            throw new ArgumentException($"{name} lives on {buffer.Device.Name}, not on the engine's device {Device.Name}.", name);
        if (buffer.Length < needed)
            throw new ArgumentException($"{name} holds {buffer.Length} elements; the shapes need {needed}.", name);
    }

    private static DType DTypeOf<T>(string name) where T : unmanaged =>
        TryDTypeOf<T>(out var dtype)
            ? dtype
            : throw new ArgumentException($"{name} has element type {typeof(T).Name}; use float, Half or BFloat16.", name);

    private static void CheckDType(DType dtype, string name)
    {
        if (!Enum.IsDefined(dtype)) throw new ArgumentOutOfRangeException(name, dtype, "Unknown dtype.");
    }

    private static void CheckLayout(ProductLayout layout)
    {
        if (!Enum.IsDefined(layout)) throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown product layout.");
    }

    private static void CheckPointer(ulong address, string name)
    {
        if (address == 0) throw new ArgumentException("The device pointer is null.", name);
    }

    private static void CheckShape(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
    }
}
