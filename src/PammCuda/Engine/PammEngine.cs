using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// PAMM on a compute device: <see cref="Compress{T}(DeviceBuffer{T}, int, int, PammOptions)"/> keeps generators, assignment and coefficients
/// of an activation X; <see cref="ApproxMatmul{TG, TOut}"/> computes <c>a·Xᵀ G + c·out</c> (or its
/// transpose) from them. Everything is queued on <see cref="Stream"/> without waiting for the device.
/// Memory comes from the caller where a framework wants to count it: <c>CompressInto</c> writes the compressed form
/// into caller storage (<see cref="CompressedStorageBytes"/>), and compressions and products take their scratch from a
/// caller workspace (<see cref="CompressWorkspaceBytes"/>, <see cref="ApproxMatmulWorkspaceBytes(int, int, int, DType, int, DType, bool)"/>); without one, the
/// engine's own scratch is reused across calls. Written once against <see cref="IComputeDevice"/>: it runs the same
/// kernels on a GPU and on the emulated device. Not thread-safe: one engine per stream.
/// </summary>
public sealed class PammEngine : IDisposable
{
    private readonly DeviceBuffer<int>? _explicitGenerators;
    private readonly EngineScratch _scratch;
    private readonly CompressedStoragePool _storagePool;
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
        Stream = stream ?? device.DefaultStream;
        // Copied once, and the options keep the copy: the engine's options are immutable for its lifetime, so their
        // explicit generators are uploaded here, not per call, and a caller's list changed afterwards cannot make k
        // disagree with what was uploaded.
        options ??= new PammOptions();
        int[]? explicitGenerators = options.GeneratorIndices?.ToArray();
        Options = explicitGenerators is null ? options : options with { GeneratorIndices = explicitGenerators };

        // Nothing here touches the device unless the options name explicit generators: the GEMM constants live in each
        // call's workspace, and scratch is allocated at first need, so an engine can be created on a stream that is
        // being captured into a CUDA graph.
        if (explicitGenerators is { Length: > 0 })
        {
            _explicitGenerators = device.Allocate<int>(explicitGenerators.Length);
            try
            {
                _explicitGenerators.CopyFrom(explicitGenerators, Stream);
            }
            catch
            {
                _explicitGenerators.Dispose();
                throw;
            }
        }
        _scratch = new EngineScratch(device, Stream);
        _storagePool = new CompressedStoragePool(device);
    }

    /// <summary>The device the engine runs on.</summary>
    public IComputeDevice Device { get; }

    /// <summary>The stream all work is queued on.</summary>
    public IDeviceStream Stream { get; }

    /// <summary>How activations are compressed by the overloads of <c>Compress</c> that take no options.</summary>
    public PammOptions Options { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

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
        return CompressOwned(x.Address, rows, columns, dtype, options);
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
        return CompressOwned(x, rows, columns, dtype, options);
    }

    /// <summary>
    /// Compresses X held in a device buffer into <paramref name="storage"/>, a block the caller owns (a view over a
    /// framework's tensor, say) of at least <see cref="CompressedStorageBytes"/> bytes. The result refers to that block
    /// without owning it: disposing it frees nothing and waits for nothing. Scratch comes from <paramref name="workspace"/>
    /// (at least <see cref="CompressWorkspaceBytes"/> bytes) or, when it is null, from the engine. Both blocks must stay
    /// valid until the stream has passed this call's work, and storage for as long as the result is used.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="x"/>, <paramref name="options"/> or <paramref name="storage"/> is null.</exception>
    /// <exception cref="ArgumentException">A buffer too small, misaligned, of another device, or X of an unsupported element type; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine or a buffer was disposed.</exception>
    public GpuCompressedActivation CompressInto<T>(DeviceBuffer<T> x, int rows, int columns, PammOptions options,
        DeviceBuffer<byte> storage, DeviceBuffer<byte>? workspace = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        var dtype = DTypeOf<T>(nameof(x));
        CheckShape(rows, columns);
        CheckBuffer(x, (long)rows * columns, nameof(x));
        CheckBuffer(storage, 0, nameof(storage));
        if (workspace is not null) CheckBuffer(workspace, 0, nameof(workspace));
        return CompressInto(x.Address, rows, columns, dtype, options, storage.Address, storage.Length,
            workspace?.Address ?? 0, workspace?.Length ?? 0);
    }

    /// <summary>
    /// Compresses X at a device address that a framework owns into storage at <paramref name="storage"/>
    /// (<paramref name="storageBytes"/> bytes, 16-byte aligned, at least <see cref="CompressedStorageBytes"/>), with
    /// scratch from <paramref name="workspace"/> (<paramref name="workspaceBytes"/> bytes, at least
    /// <see cref="CompressWorkspaceBytes"/>; 0 and 0 use the engine's own). Everything is checked before any work is
    /// queued. Nothing waits for the device, except that the engine's own scratch, when it has to grow, waits for its
    /// stream before freeing the smaller block: a caller's workspace never waits. See <see cref="CompressInto{T}"/> for the lifetimes.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A null pointer, storage or workspace too small or misaligned; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, an unknown dtype, or options that do not fit <paramref name="rows"/>.</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation CompressInto(ulong x, int rows, int columns, DType dtype, PammOptions options,
        ulong storage, long storageBytes, ulong workspace = 0, long workspaceBytes = 0)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        CheckPointer(x, nameof(x));
        CheckDType(dtype, nameof(dtype));
        CheckShape(rows, columns);
        int k = options.ResolveK(rows);
        var layout = CompressedStorageLayout.For(rows, columns, k, dtype, options.AlphaType);
        CheckCallerBlock(storage, storageBytes, layout.TotalBytes, nameof(storage), nameof(CompressedStorageBytes), optional: false);
        long needed = CompressWorkspaceBytes(rows, columns, k);
        CheckCallerBlock(workspace, workspaceBytes, needed, nameof(workspace), nameof(CompressWorkspaceBytes), optional: true);
        var scratch = workspace != 0 ? CompressWorkspace.At(workspace, rows, columns, k) : OwnCompressWorkspace(rows, columns, k);
        var compressed = new GpuCompressedActivation(this, layout, storage, ownedStorage: null);
        CompressCore(x, compressed, options, scratch);
        return compressed;
    }

    /// <summary>
    /// <see cref="ProjectAndCompressInto(ulong, int, int, DType, ulong, int, ulong, PammOptions, ulong, long, ulong, long)"/>
    /// on device buffers: X (<paramref name="rows"/> × <paramref name="columns"/>), the stacked weight
    /// ((<paramref name="projectionColumns"/> + k) × columns, W in its first rows, C written into the rest) and the
    /// projection (rows × projectionColumns) of one element type; storage and workspace (null: the engine's own) as
    /// <see cref="CompressInto{T}"/> takes them.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null buffer or <paramref name="options"/>.</exception>
    /// <exception cref="ArgumentException">A buffer too small, misaligned, of another device, or of an unsupported element type; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, options that do not fit <paramref name="rows"/>, or a GEMM beyond 32-bit dimensions.</exception>
    /// <exception cref="ObjectDisposedException">The engine or a buffer was disposed.</exception>
    public GpuCompressedActivation ProjectAndCompressInto<T>(DeviceBuffer<T> x, int rows, int columns, DeviceBuffer<T> stackedWeight,
        int projectionColumns, DeviceBuffer<T> projection, PammOptions options, DeviceBuffer<byte> storage,
        DeviceBuffer<byte>? workspace = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        var dtype = DTypeOf<T>(nameof(x));
        CheckShape(rows, columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(projectionColumns, 1);
        int k = options.ResolveK(rows);
        CheckProjectionGemm(rows, columns, k, projectionColumns);
        CheckBuffer(x, (long)rows * columns, nameof(x));
        CheckBuffer(stackedWeight, ((long)projectionColumns + k) * columns, nameof(stackedWeight));
        CheckBuffer(projection, (long)rows * projectionColumns, nameof(projection));
        CheckBuffer(storage, 0, nameof(storage));
        if (workspace is not null) CheckBuffer(workspace, 0, nameof(workspace));
        return ProjectAndCompressInto(x.Address, rows, columns, dtype, stackedWeight.Address, projectionColumns, projection.Address, options,
            storage.Address, storage.Length, workspace?.Address ?? 0, workspace?.Length ?? 0);
    }

    /// <summary>
    /// The forward projection of X and its compression from one GEMM (design §8), into one output:
    /// <paramref name="projection"/> receives <c>X Wᵀ</c>, row-major b × m of X's dtype (m = <paramref name="projectionColumns"/>),
    /// the layout of <c>nn.Linear</c> with the stacked weight, so Q, K and V are the column ranges [0, d_q),
    /// [d_q, d_q + d_k), [d_q + d_k, m) of each row. Views of one allocation live as long as the longest-lived of them:
    /// where attention keeps V for backward, Q and K stay too; give each its own allocation with
    /// <see cref="ProjectAndCompressInto(ulong, int, int, DType, ulong, ReadOnlySpan{ProjectionOutput}, PammOptions, ulong, long, ulong, long)"/>,
    /// which says everything else this does.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A null pointer, storage or workspace too small or misaligned; repeated explicit indices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A shape below 1, an unknown dtype, options that do not fit <paramref name="rows"/>, or a GEMM beyond 32-bit dimensions
    /// (m + k or X's elements over 2³¹ − 1).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation ProjectAndCompressInto(ulong x, int rows, int columns, DType dtype, ulong stackedWeight,
        int projectionColumns, ulong projection, PammOptions options, ulong storage, long storageBytes, ulong workspace = 0,
        long workspaceBytes = 0)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        CheckPointer(x, nameof(x));
        CheckPointer(stackedWeight, nameof(stackedWeight));
        CheckPointer(projection, nameof(projection));
        CheckDType(dtype, nameof(dtype));
        CheckShape(rows, columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(projectionColumns, 1);
        CheckProjectionGemm(rows, columns, options.ResolveK(rows), projectionColumns, nameof(projectionColumns));
        return ProjectAndCompressInto(x, rows, columns, dtype, stackedWeight, [new ProjectionOutput(projection, projectionColumns)], options,
            storage, storageBytes, workspace, workspaceBytes);
    }

    /// <summary>
    /// The forward projection of X and its compression from one GEMM (design §8). X (row-major <paramref name="rows"/> ×
    /// <paramref name="columns"/> of <paramref name="dtype"/>) is multiplied by the stacked weight <c>[W; C]</c>, where
    /// W = <c>[W_q; W_k; W_v]</c> is m rows (the sum of the outputs' columns) and C the k generators:
    /// <list type="bullet">
    /// <item><paramref name="stackedWeight"/> is row-major (m + k) × n of X's dtype. Its first m rows hold W (the caller
    /// keeps its weight there: a framework's weight is a view of the first m rows); the engine overwrites its last k rows
    /// with C on the stream.</item>
    /// <item><paramref name="outputs"/> receive <c>X Wᵀ</c> (no bias) in column order: output i is a dense row-major b × its
    /// columns matrix of X's dtype holding the next columns, so with outputs of d_q, d_k and d_v columns they are
    /// <c>X W_qᵀ</c>, <c>X W_kᵀ</c> and <c>X W_vᵀ</c>, each in an allocation the framework frees on its own, as three
    /// <c>nn.Linear</c> outputs are.</item>
    /// <item>The compressed form goes to <paramref name="storage"/> as <see cref="CompressInto(ulong, int, int, DType, PammOptions, ulong, long, ulong, long)"/>
    /// writes it: the same generators (sampled from the same seed, as the CPU backend samples them), the same f except at
    /// near-ties, α and β within float32 tolerance.</item>
    /// </list>
    /// The GEMM writes <c>[X Wᵀ | X Cᵀ]</c> in float32 into the workspace (float32 accumulation, no TF32), so the
    /// similarities are full float32 for every dtype (a 16-bit S would move f at near-ties and α by 2⁻⁸ relatively); the
    /// projection is rounded once into the outputs, as cuBLAS rounds a 16-bit output, and the assignment reads only the k
    /// similarity columns: X is not read a second time in full (except when ε &lt; 1, whose test needs ‖X_i‖²). Scratch
    /// comes from <paramref name="workspace"/> (<see cref="ProjectAndCompressWorkspaceBytes"/> for m columns; 0 and 0 use
    /// the engine's own; growing those waits for the stream once, as in <see cref="CompressInto(ulong, int, int, DType, PammOptions, ulong, long, ulong, long)"/>).
    /// Everything is checked before any work is queued; nothing else waits for the device.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// No outputs, an output with a null address, a null pointer, storage or workspace too small or misaligned; repeated
    /// explicit indices.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A shape below 1 (an output's columns included), an unknown dtype, options that do not fit <paramref name="rows"/>,
    /// or a GEMM beyond 32-bit dimensions (m + k or X's elements over 2³¹ − 1).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation ProjectAndCompressInto(ulong x, int rows, int columns, DType dtype, ulong stackedWeight,
        ReadOnlySpan<ProjectionOutput> outputs, PammOptions options, ulong storage, long storageBytes, ulong workspace = 0,
        long workspaceBytes = 0)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(options);
        CheckPointer(x, nameof(x));
        CheckPointer(stackedWeight, nameof(stackedWeight));
        int projectionColumns = CheckProjectionOutputs(outputs);
        CheckDType(dtype, nameof(dtype));
        CheckShape(rows, columns);
        int k = options.ResolveK(rows);
        CheckProjectionGemm(rows, columns, k, projectionColumns, nameof(outputs));
        var layout = CompressedStorageLayout.For(rows, columns, k, dtype, options.AlphaType);
        CheckCallerBlock(storage, storageBytes, layout.TotalBytes, nameof(storage), nameof(CompressedStorageBytes), optional: false);
        long needed = ProjectionWorkspace.Bytes(rows, columns, k, projectionColumns);
        CheckCallerBlock(workspace, workspaceBytes, needed, nameof(workspace), nameof(ProjectAndCompressWorkspaceBytes), optional: true);
        var scratch = ProjectionWorkspace.At(workspace != 0 ? workspace : _scratch.Workspace.Ensure(needed), rows, columns, k, projectionColumns);
        var compressed = new GpuCompressedActivation(this, layout, storage, ownedStorage: null);
        PrepareProjectAndCompress(x, stackedWeight, outputs, CompressedParts.Of(compressed), options, scratch).Run();
        return compressed;
    }

    /// <summary>m: the outputs' columns summed, after checking that there is at least one and each has an address and columns.</summary>
    private static int CheckProjectionOutputs(ReadOnlySpan<ProjectionOutput> outputs)
    {
        if (outputs.IsEmpty) throw new ArgumentException("At least one projection output is needed.", nameof(outputs));
        long sum = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            if (outputs[i].Address == 0) throw new ArgumentException($"outputs[{i}].Address is a null device pointer.", nameof(outputs));
            if (outputs[i].Columns < 1)
                throw new ArgumentOutOfRangeException(nameof(outputs), outputs[i].Columns, $"outputs[{i}].Columns must be at least 1.");
            sum += outputs[i].Columns;
        }
        if (sum > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(outputs), sum, $"The outputs' {sum} columns exceed one GEMM's 32-bit dimension.");
        return (int)sum;
    }

    /// <summary>
    /// Bytes of workspace <see cref="ProjectAndCompressInto(ulong, int, int, DType, ulong, ReadOnlySpan{ProjectionOutput}, PammOptions, ulong, long, ulong, long)"/>
    /// needs for X of <paramref name="rows"/> × <paramref name="columns"/>, <paramref name="k"/> generators and
    /// m = <paramref name="projectionColumns"/> output columns (all outputs together), whatever the dtype and ε:
    /// the float32 GEMM output b × (m + k) and the compression's sampling and norms.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], or a GEMM beyond 32-bit dimensions.</exception>
    public static long ProjectAndCompressWorkspaceBytes(int rows, int columns, int k, int projectionColumns)
    {
        CheckSizes(rows, columns, k);
        ArgumentOutOfRangeException.ThrowIfLessThan(projectionColumns, 1);
        CheckProjectionGemm(rows, columns, k, projectionColumns);
        return ProjectionWorkspace.Bytes(rows, columns, k, projectionColumns);
    }

    /// <summary>
    /// The fused projection and compression pass: the engine runs it whole; the benchmark stage by stage. The compression
    /// stages it shares are those of <see cref="PrepareCompress"/> over the same parts.
    /// </summary>
    internal ProjectionCompressPass PrepareProjectAndCompress(ulong x, ulong stackedWeight, ReadOnlySpan<ProjectionOutput> outputs,
        CompressedParts compressed, PammOptions options, in ProjectionWorkspace scratch) =>
        new(Stream, x, stackedWeight, outputs, scratch, PrepareCompress(x, compressed, options, scratch.Compress));

    /// <summary>
    /// One GEMM carries the projection: its dimensions (m + k, b, n) and X's elements must fit cuBLAS's 32-bit integers;
    /// m + k beyond them is blamed on <paramref name="projectionArgument"/>, the argument that gave m.
    /// </summary>
    private static void CheckProjectionGemm(int rows, int columns, int k, int projectionColumns, string projectionArgument = "projectionColumns")
    {
        if ((long)projectionColumns + k > int.MaxValue)
            throw new ArgumentOutOfRangeException(projectionArgument, projectionColumns,
                $"m + k = {(long)projectionColumns + k} rows of the stacked weight exceed one GEMM's 32-bit dimension.");
        if ((long)rows * columns > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(rows), rows,
                $"X of {rows} × {columns} elements exceeds one GEMM's 32-bit operand (compress it with CompressInto in chunks instead).");
    }

    /// <summary>
    /// Bytes of the storage block a compressed activation of <paramref name="rows"/> × <paramref name="columns"/> with
    /// <paramref name="k"/> generators of <paramref name="dtype"/>, α stored as <paramref name="alphaType"/>, needs
    /// (<see cref="CompressedStorageLayout.TotalBytes"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], an unknown dtype, or an α type other than float32 or bfloat16.</exception>
    public static long CompressedStorageBytes(int rows, int columns, int k, DType dtype, DType alphaType = DType.Float32) =>
        CompressedStorageLayout.For(rows, columns, k, dtype, alphaType).TotalBytes;

    /// <summary>Bytes of workspace a compression of <paramref name="rows"/> × <paramref name="columns"/> to <paramref name="k"/> generators needs, whatever its dtype, ε and <see cref="PammOptions.RefineGenerators"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1 or k outside [1, rows].</exception>
    public static long CompressWorkspaceBytes(int rows, int columns, int k)
    {
        CheckSizes(rows, columns, k);
        return CompressWorkspace.Bytes(rows, columns, k);
    }

    /// <summary>
    /// Bytes of workspace one approximate product needs: a compressed <paramref name="rows"/> × <paramref name="columns"/>
    /// input with <paramref name="k"/> generators of <paramref name="dtype"/>, a gradient of <paramref name="gradientColumns"/>
    /// columns (of any dtype) and an output of <paramref name="outputType"/> (checked; every output dtype needs the same
    /// bytes, because the product writes a 16-bit output directly). <paramref name="planned"/>: the compressed
    /// activation has a product plan (<see cref="GpuCompressedActivation.HasProductPlan"/>, or it lies in the engine's
    /// storage, whose first product builds one there), so the product needs no room to group the rows itself; the
    /// default counts that room, which every product can use.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], more than <see cref="MaxGradientColumns"/> gradient columns, or an unknown dtype.</exception>
    public static long ApproxMatmulWorkspaceBytes(int rows, int columns, int k, DType dtype, int gradientColumns, DType outputType,
        bool planned = false)
    {
        CheckSizes(rows, columns, k);
        CheckGradientColumns(gradientColumns);
        CheckDType(dtype, nameof(dtype));
        CheckDType(outputType, nameof(outputType));
        return ProductWorkspace.Bytes(rows, k, gradientColumns, transientPlan: !planned);
    }

    /// <summary>
    /// Bytes of workspace a product of <paramref name="compressed"/> with <paramref name="gradientColumns"/> gradient
    /// columns and an output of <paramref name="outputType"/> needs now: without room for grouping its rows when it has a
    /// plan or will build one in the engine's storage.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> outside [1, <see cref="MaxGradientColumns"/>] or an unknown dtype.</exception>
    public static long ApproxMatmulWorkspaceBytes(GpuCompressedActivation compressed, int gradientColumns, DType outputType)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        return ApproxMatmulWorkspaceBytes(compressed.Rows, compressed.Columns, compressed.K, compressed.DType, gradientColumns, outputType,
            planned: !NeedsTransientPlan(compressed));
    }

    /// <summary>
    /// The most gradient columns m one approximate product takes: the last reduction spreads them over a
    /// grid dimension that CUDA caps at 65,535 blocks. Wider gradients are split into column blocks by the caller.
    /// </summary>
    public static int MaxGradientColumns => PammKernels.MaxGradientColumns;

    private static void CheckGradientColumns(int gradientColumns)
    {
        if (gradientColumns < 1 || gradientColumns > MaxGradientColumns)
            throw new ArgumentOutOfRangeException(nameof(gradientColumns), gradientColumns,
                $"The gradient must have between 1 and {MaxGradientColumns} columns.");
    }

    /// <summary>Caller storage without a plan: its product groups the rows in its own workspace.</summary>
    private static bool NeedsTransientPlan(GpuCompressedActivation compressed) => compressed.Plan is null && !compressed.OwnsStorage;

    /// <summary>
    /// Bytes of the plan that the products of one compressed <paramref name="rows"/> × <paramref name="columns"/> input
    /// (<paramref name="k"/> generators of <paramref name="dtype"/>) share: see <see cref="PrepareProductsInto"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], or an unknown dtype.</exception>
    public static long ProductPlanBytes(int rows, int columns, int k, DType dtype)
    {
        CheckSizes(rows, columns, k);
        CheckDType(dtype, nameof(dtype));
        return ProductPlan.Bytes(rows, k);
    }

    /// <summary>
    /// Builds, into <paramref name="plan"/> (device memory the caller owns, at least <see cref="ProductPlanBytes"/> bytes,
    /// 16-byte aligned), what every product of <paramref name="compressed"/> shares: its rows grouped by generator and, for
    /// 16-bit generators, their float32 copy. Every later product of <paramref name="compressed"/>, on any engine of the
    /// device, reuses it instead of sorting again, so Q, K and V pay for one sort. The block must stay valid while
    /// products of <paramref name="compressed"/> are queued. An engine-owned compression builds its plan itself, in the
    /// engine's memory, at its first product; this is for compressions in caller storage, whose memory the caller counts.
    /// Queued on the engine's stream; never waits.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentException">A null, misaligned or too small block; a compressed activation of another engine or device.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="compressed"/> already has a plan.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="compressed"/> was disposed.</exception>
    public void PrepareProductsInto(GpuCompressedActivation compressed, ulong plan, long planBytes)
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        CheckCallerBlock(plan, planBytes, ProductPlan.Bytes(compressed.Rows, compressed.K),
            nameof(plan), nameof(ProductPlanBytes), optional: false);
        if (compressed.HasProductPlan)
            throw new InvalidOperationException("The compressed activation already has a product plan; its products reuse it.");
        BuildPlan(compressed, ProductPlan.At(plan, compressed.Rows, compressed.K), ownedBlock: null);
    }

    /// <summary>
    /// A compressed activation over a block of caller storage that already holds one: written there by
    /// <see cref="CompressInto(ulong, int, int, DType, PammOptions, ulong, long, ulong, long)"/> or
    /// <see cref="ProjectAndCompressInto(ulong, int, int, DType, ulong, int, ulong, PammOptions, ulong, long, ulong, long)"/>
    /// of an engine of this device, for these shapes and α type. The storage is the whole compressed form (C, f, α, η), so
    /// a framework may keep just that block (a tensor) and its shape, and open it again where it multiplies, as a
    /// compiled graph must. <paramref name="plan"/> (0 and 0 for none) is a block that
    /// <see cref="PrepareProductsInto"/> built for this storage: the products then reuse it. Nothing is queued or
    /// copied; the result refers to both blocks without owning them, and disposing it frees nothing.
    /// </summary>
    /// <remarks>The blocks' contents are not checked (that would read the device): like a wrong device pointer, storage
    /// that holds no compression of these shapes, or a plan built for other storage, is the caller's error and its
    /// products are undefined.</remarks>
    /// <exception cref="ArgumentException">A null, misaligned or too small block; a plan pointer without bytes or bytes without a pointer.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], an unknown dtype or an α type other than float32 or bfloat16.</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public GpuCompressedActivation OpenCompressed(ulong storage, long storageBytes, int rows, int columns, int k, DType dtype,
        DType alphaType = DType.Float32, ulong plan = 0, long planBytes = 0)
    {
        ThrowIfDisposed();
        CheckSizes(rows, columns, k);
        CheckDType(dtype, nameof(dtype));
        var layout = CompressedStorageLayout.For(rows, columns, k, dtype, alphaType);
        CheckCallerBlock(storage, storageBytes, layout.TotalBytes, nameof(storage), nameof(CompressedStorageBytes), optional: false);
        long neededPlan = ProductPlan.Bytes(rows, k);
        CheckCallerBlock(plan, planBytes, neededPlan, nameof(plan), nameof(ProductPlanBytes), optional: true);
        var compressed = new GpuCompressedActivation(this, layout, storage, ownedStorage: null);
        if (plan != 0) compressed.KeepPlan(ProductPlan.At(plan, rows, k), ownedBlock: null);
        return compressed;
    }

    /// <summary>
    /// <c>output = a·β·Cᵀ B̃ + c·output</c> (n × m, <see cref="ProductLayout.InputByGradient"/>) or its
    /// transpose (m × n, <see cref="ProductLayout.GradientByInput"/>), approximating <c>a·Xᵀ G + c·output</c>;
    /// G is row-major <c>compressed.Rows</c> × <paramref name="gradientColumns"/>.
    /// </summary>
    /// <remarks>
    /// Scratch comes from <paramref name="workspace"/> (at least <see cref="ApproxMatmulWorkspaceBytes(GpuCompressedActivation, int, DType)"/> bytes, valid
    /// until the stream has passed this call) or, when it is null, from the engine. <paramref name="compressed"/> must
    /// come from this engine, or lie in caller storage and come from an engine of the same device.
    /// </remarks>
    /// <exception cref="ArgumentNullException">A null argument.</exception>
    /// <exception cref="ArgumentException">A buffer too small, of another device or of an unsupported type; a compressed activation of another engine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> outside [1, <see cref="MaxGradientColumns"/>] or an unknown layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine, a buffer or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmul<TG, TOut>(GpuCompressedActivation compressed, DeviceBuffer<TG> gradient, int gradientColumns,
        DeviceBuffer<TOut> output, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f,
        DeviceBuffer<byte>? workspace = null)
        where TG : unmanaged where TOut : unmanaged
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        var gradientType = DTypeOf<TG>(nameof(gradient));
        var outputType = DTypeOf<TOut>(nameof(output));
        CheckGradientColumns(gradientColumns);
        CheckLayout(layout);
        CheckBuffer(gradient, (long)compressed.Rows * gradientColumns, nameof(gradient));
        CheckBuffer(output, (long)compressed.Columns * gradientColumns, nameof(output));
        if (workspace is not null) CheckBuffer(workspace, 0, nameof(workspace));
        var batch = ProductBatch.One(gradient.Address, gradientColumns, output.Address);
        var scratch = ProductScratch(compressed, batch, workspace?.Address ?? 0, workspace?.Length ?? 0);
        ApproxMatmulCore(compressed, batch, gradientType, outputType, layout, a, c, scratch);
    }

    /// <summary>
    /// The same product on device addresses that a framework owns, with scratch from <paramref name="workspace"/>
    /// (<paramref name="workspaceBytes"/> bytes, 16-byte aligned, at least <see cref="ApproxMatmulWorkspaceBytes(GpuCompressedActivation, int, DType)"/>;
    /// 0 and 0 use the engine's own).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentException">A null pointer, or a compressed activation of another engine.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> outside [1, <see cref="MaxGradientColumns"/>], an unknown dtype or layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmul(GpuCompressedActivation compressed, ulong gradient, int gradientColumns, DType gradientType,
        ulong output, DType outputType, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f,
        ulong workspace = 0, long workspaceBytes = 0)
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        CheckPointer(gradient, nameof(gradient));
        CheckPointer(output, nameof(output));
        CheckDType(gradientType, nameof(gradientType));
        CheckDType(outputType, nameof(outputType));
        CheckGradientColumns(gradientColumns);
        CheckLayout(layout);
        var batch = ProductBatch.One(gradient, gradientColumns, output);
        var scratch = ProductScratch(compressed, batch, workspace, workspaceBytes);
        ApproxMatmulCore(compressed, batch, gradientType, outputType, layout, a, c, scratch);
    }

    /// <summary>
    /// Up to <see cref="MaxBatchedProducts"/> products of one compressed X in one pass: for each product z,
    /// <c>output_z = a·β·Cᵀ B̃_z + c·output_z</c> (n × m_z, or its transpose for <see cref="ProductLayout.GradientByInput"/>),
    /// approximating <c>a·Xᵀ G_z + c·output_z</c>, with G_z row-major <c>compressed.Rows</c> × m_z. The weight gradients
    /// of Q, K and V, whose projections share X: each stage is one launch for all of them, three launches in all once
    /// the compression has its plan (nine as three <see cref="ApproxMatmul(GpuCompressedActivation, ulong, int, DType, ulong, DType, ProductLayout, float, float, ulong, long)"/>
    /// calls), and every output is bitwise what its own call writes. The products share the gradients' dtype, the
    /// outputs' dtype and layout, a and c; the widths m_z may differ (grouped-query attention's narrower K and V).
    /// </summary>
    /// <remarks>
    /// Scratch comes from <paramref name="workspace"/> (at least <see cref="ApproxMatmulBatchWorkspaceBytes(GpuCompressedActivation, ReadOnlySpan{int})"/>
    /// bytes, valid until the stream has passed this call) or, with 0 and 0, from the engine. The outputs must not
    /// overlap one another (each is written once; the gradients are only read and may overlap anything but an output).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentException">A null gradient or output; two outputs that overlap; a compressed activation of another engine; a workspace too small.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No products or more than <see cref="MaxBatchedProducts"/>; a product's columns outside [1, <see cref="MaxGradientColumns"/>]; an unknown dtype or layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmulBatch(GpuCompressedActivation compressed, ReadOnlySpan<BatchedProduct> products, DType gradientType,
        DType outputType, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f, ulong workspace = 0,
        long workspaceBytes = 0)
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        CheckDType(gradientType, nameof(gradientType));
        CheckDType(outputType, nameof(outputType));
        CheckLayout(layout);
        CheckBatch(products, compressed.Columns, outputType);
        var batch = ProductBatch.Of(products);
        var scratch = ProductScratch(compressed, batch, workspace, workspaceBytes);
        ApproxMatmulCore(compressed, batch, gradientType, outputType, layout, a, c, scratch);
    }

    /// <summary>
    /// The batch on device buffers: product z multiplies <paramref name="gradients"/>[z] (<c>compressed.Rows</c> ×
    /// <paramref name="gradientColumns"/>[z]) into <paramref name="outputs"/>[z], as
    /// <see cref="ApproxMatmulBatch(GpuCompressedActivation, ReadOnlySpan{BatchedProduct}, DType, DType, ProductLayout, float, float, ulong, long)"/>
    /// does, with every buffer checked (device, size, not disposed) before any work. Scratch from
    /// <paramref name="workspace"/> (at least <see cref="ApproxMatmulBatchWorkspaceBytes(GpuCompressedActivation, ReadOnlySpan{int})"/>
    /// bytes) or, when it is null, from the engine.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null argument or buffer.</exception>
    /// <exception cref="ArgumentException">Spans of different lengths; a buffer too small, of another device or of an unsupported type; two outputs that are one buffer; a compressed activation of another engine.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No products or more than <see cref="MaxBatchedProducts"/>; a width outside [1, <see cref="MaxGradientColumns"/>]; an unknown layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine, a buffer or <paramref name="compressed"/> was disposed.</exception>
    public void ApproxMatmulBatch<TG, TOut>(GpuCompressedActivation compressed, ReadOnlySpan<DeviceBuffer<TG>> gradients,
        ReadOnlySpan<int> gradientColumns, ReadOnlySpan<DeviceBuffer<TOut>> outputs, ProductLayout layout = ProductLayout.InputByGradient,
        float a = 1f, float c = 0f, DeviceBuffer<byte>? workspace = null)
        where TG : unmanaged where TOut : unmanaged
    {
        ThrowIfDisposed();
        CheckCompressed(compressed);
        var gradientType = DTypeOf<TG>(nameof(gradients));
        var outputType = DTypeOf<TOut>(nameof(outputs));
        CheckBatchWidths(gradientColumns);
        if (gradients.Length != gradientColumns.Length || outputs.Length != gradientColumns.Length)
            throw new ArgumentException($"gradients ({gradients.Length}), gradientColumns ({gradientColumns.Length}) and outputs ({outputs.Length}) " +
                "must name as many products.", nameof(gradientColumns));
        Span<BatchedProduct> products = stackalloc BatchedProduct[ProductBatch.Capacity];
        products = products[..gradientColumns.Length];
        for (int i = 0; i < products.Length; i++)
        {
            int m = gradientColumns[i];
            CheckBuffer(gradients[i], (long)compressed.Rows * m, $"gradients[{i}]");
            CheckBuffer(outputs[i], (long)compressed.Columns * m, $"outputs[{i}]");
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(outputs[j], outputs[i]))
                    throw new ArgumentException($"outputs[{j}] and outputs[{i}] are one buffer; each product needs an output of its own.", nameof(outputs));
            products[i] = new BatchedProduct(gradients[i].Address, m, outputs[i].Address);
        }
        if (workspace is not null) CheckBuffer(workspace, 0, nameof(workspace));
        ApproxMatmulBatch(compressed, products, gradientType, outputType, layout, a, c, workspace?.Address ?? 0, workspace?.Length ?? 0);
    }

    /// <summary>The most products one <see cref="ApproxMatmulBatch"/> takes (Q, K and V: 3).</summary>
    public static int MaxBatchedProducts => ProductBatch.Capacity;

    /// <summary>
    /// Bytes of workspace <see cref="ApproxMatmulBatch"/> needs for products of these widths from a compressed
    /// <paramref name="rows"/> × <paramref name="columns"/> input with <paramref name="k"/> generators of
    /// <paramref name="dtype"/> (any gradient and output dtype). <paramref name="planned"/> as for
    /// <see cref="ApproxMatmulWorkspaceBytes(int, int, int, DType, int, DType, bool)"/>: without room to group the rows.
    /// About what one product as wide as all of them together needs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1, k outside [1, rows], an unknown dtype, no widths or more than <see cref="MaxBatchedProducts"/>, or a width outside [1, <see cref="MaxGradientColumns"/>].</exception>
    public static long ApproxMatmulBatchWorkspaceBytes(int rows, int columns, int k, DType dtype, ReadOnlySpan<int> gradientColumns,
        bool planned = false)
    {
        CheckSizes(rows, columns, k);
        CheckDType(dtype, nameof(dtype));
        CheckBatchWidths(gradientColumns);
        return ProductWorkspace.Bytes(rows, k, ProductBatch.ScratchColumnsOf(gradientColumns), transientPlan: !planned);
    }

    /// <summary>
    /// Bytes of workspace <see cref="ApproxMatmulBatch"/> of <paramref name="compressed"/> with products of these widths
    /// needs now: without room for grouping its rows when it has a plan or will build one in the engine's storage.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No widths or more than <see cref="MaxBatchedProducts"/>, or a width outside [1, <see cref="MaxGradientColumns"/>].</exception>
    public static long ApproxMatmulBatchWorkspaceBytes(GpuCompressedActivation compressed, ReadOnlySpan<int> gradientColumns)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        return ApproxMatmulBatchWorkspaceBytes(compressed.Rows, compressed.Columns, compressed.K, compressed.DType, gradientColumns,
            planned: !NeedsTransientPlan(compressed));
    }

    private static void CheckBatchWidths(ReadOnlySpan<int> gradientColumns)
    {
        if (gradientColumns.Length is < 1 or > ProductBatch.Capacity)
            throw new ArgumentOutOfRangeException(nameof(gradientColumns), gradientColumns.Length,
                $"A batch holds 1 to {ProductBatch.Capacity} products.");
        for (int i = 0; i < gradientColumns.Length; i++)
            if (gradientColumns[i] < 1 || gradientColumns[i] > MaxGradientColumns)
                throw new ArgumentOutOfRangeException(nameof(gradientColumns), gradientColumns[i],
                    $"gradientColumns[{i}] must be between 1 and {MaxGradientColumns}.");
    }

    /// <summary>
    /// A batch's products, before any work: 1 to <see cref="MaxBatchedProducts"/>, each with non-null pointers and a width
    /// in range, and outputs (n × m_z elements of <paramref name="outputType"/>) that do not overlap.
    /// </summary>
    private static void CheckBatch(ReadOnlySpan<BatchedProduct> products, int n, DType outputType)
    {
        if (products.Length is < 1 or > ProductBatch.Capacity)
            throw new ArgumentOutOfRangeException(nameof(products), products.Length, $"A batch holds 1 to {ProductBatch.Capacity} products.");
        for (int i = 0; i < products.Length; i++)
        {
            var product = products[i];
            if (product.Gradient == 0) throw new ArgumentException($"products[{i}].Gradient is a null pointer.", nameof(products));
            if (product.Output == 0) throw new ArgumentException($"products[{i}].Output is a null pointer.", nameof(products));
            if (product.GradientColumns < 1 || product.GradientColumns > MaxGradientColumns)
                throw new ArgumentOutOfRangeException(nameof(products), product.GradientColumns,
                    $"products[{i}].GradientColumns must be between 1 and {MaxGradientColumns}.");
        }
        for (int i = 0; i < products.Length; i++)
            for (int j = 0; j < i; j++)
                if (Overlap(products[i], products[j], n, outputType.SizeOf()))
                    throw new ArgumentException($"The outputs of products {j} and {i} overlap; each product needs an output of its own.",
                        nameof(products));
    }

    private static bool Overlap(BatchedProduct first, BatchedProduct second, int n, int elementBytes)
    {
        ulong firstEnd = first.Output + (ulong)((long)n * first.GradientColumns * elementBytes);
        ulong secondEnd = second.Output + (ulong)((long)n * second.GradientColumns * elementBytes);
        return first.Output < secondEnd && second.Output < firstEnd;
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
            if (inputType != DType.Float32)
                input = Widen(_scratch.WideInput.Ensure((long)rows * columns * sizeof(float)), x.Address, (long)rows * columns, inputType);
            if (gradientType != DType.Float32)
                grad = Widen(_scratch.WideGradient.Ensure((long)rows * gradientColumns * sizeof(float)), gradient.Address,
                    (long)rows * gradientColumns, gradientType);
            operandType = DType.Float32;
        }
        var operands = new ProductOperands(input, operandType, columns, grad, operandType, gradientColumns, rows);
        ulong float32Product = outputType == DType.Float32 ? 0 : _scratch.Product.Ensure((long)columns * gradientColumns * sizeof(float));
        var target = new ProductOutput(output.Address, outputType, layout, c);
        // No dropped count: β = 1.
        var scalars = new ProductScalars(_scratch.ExactScalars.Ensure(ProductScalars.Bytes));
        PammKernels.ProductScalars(Stream, 0UL, rows, a, c, scalars.Address);
        target.Gemm(Stream, scalars, operands, allowTf32, float32Product);
        if (target.NeedsStore) target.Store(Stream, (long)columns * gradientColumns, float32Product);
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
        try
        {
            long scratchBytes = PammKernels.SamplingScratchBytes(rows);
            PammKernels.SampleGenerators(Stream, scratchBytes == 0 ? 0UL : _scratch.Workspace.Ensure(scratchBytes), rows, k, seed, generators.Address);
            return generators;
        }
        catch
        {
            generators.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Frees the engine's scratch and the storage blocks it keeps for reuse. Compressed activations in the engine's
    /// storage stay valid for reading back (η and the copies to the host, on the engine's stream) until disposed
    /// themselves; their blocks are freed then.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _storagePool.Dispose();
        _scratch.Dispose();
        _explicitGenerators?.Dispose();
    }

    /// <summary>Storage blocks this engine keeps for reuse (a test hook: disposing its activations must not wait, only return blocks).</summary>
    internal int FreeStorageBlocks => _storagePool.FreeBlocks;

    /// <summary>Gives a storage block of a disposed activation back for reuse in stream order; frees it once the engine is gone. Never waits while the engine lives.</summary>
    internal void ReturnStorage(DeviceBuffer<byte> block) => _storagePool.Return(block);

    /// <summary>A compression into a storage block of the engine's own pool, with the engine's own scratch.</summary>
    private GpuCompressedActivation CompressOwned(ulong x, int rows, int columns, DType dtype, PammOptions options)
    {
        int k = options.ResolveK(rows);
        var layout = CompressedStorageLayout.For(rows, columns, k, dtype, options.AlphaType);
        var scratch = OwnCompressWorkspace(rows, columns, k);
        var storage = _storagePool.Rent(layout.TotalBytes);
        var compressed = new GpuCompressedActivation(this, layout, storage.Address, storage);
        try
        {
            CompressCore(x, compressed, options, scratch);
            return compressed;
        }
        catch
        {
            compressed.Dispose();
            throw;
        }
    }

    private CompressWorkspace OwnCompressWorkspace(int rows, int columns, int k) =>
        CompressWorkspace.At(_scratch.Workspace.Ensure(CompressWorkspace.Bytes(rows, columns, k)), rows, columns, k);

    /// <summary>The product's scratch: in the caller's workspace (checked here, before any work) or in the engine's own.</summary>
    private ProductWorkspace ProductScratch(GpuCompressedActivation compressed, in ProductBatch batch, ulong workspace, long workspaceBytes)
    {
        int rows = compressed.Rows, k = compressed.K;
        bool transientPlan = NeedsTransientPlan(compressed);
        long needed = ProductWorkspace.Bytes(rows, k, batch.ScratchColumns, transientPlan);
        CheckCallerBlock(workspace, workspaceBytes, needed, nameof(workspace),
            batch.Count == 1 ? nameof(ApproxMatmulWorkspaceBytes) : nameof(ApproxMatmulBatchWorkspaceBytes), optional: true);
        ulong start = workspace != 0 ? workspace : _scratch.Workspace.Ensure(needed);
        return ProductWorkspace.At(start, rows, k, batch.ScratchColumns, transientPlan);
    }

    private void CompressCore(ulong x, GpuCompressedActivation compressed, PammOptions options, in CompressWorkspace scratch) =>
        PrepareCompress(x, CompressedParts.Of(compressed), options, scratch).Run();

    /// <summary>
    /// The compression pass of X into <paramref name="compressed"/> with <paramref name="options"/>, its generators in place
    /// (explicit ones uploaded, or left for the pass to sample). The engine runs it whole; the stage benchmark stage by stage.
    /// </summary>
    internal CompressPass PrepareCompress(ulong x, CompressedParts compressed, PammOptions options, in CompressWorkspace scratch) =>
        new(Stream, x, compressed, scratch, ExplicitGeneratorRows(options, scratch), options);

    /// <summary>
    /// The product pass of <paramref name="compressed"/> with G into <paramref name="output"/>. The engine runs it whole;
    /// the stage benchmark stage by stage.
    /// </summary>
    internal ProductPass PrepareProduct(CompressedParts compressed, ulong gradient, int gradientColumns, DType gradientType,
        ulong output, DType outputType, ProductLayout layout, float a, float c, in ProductWorkspace scratch) =>
        new(Stream, compressed, scratch.Plan ?? throw new ArgumentException("The stage benchmark's workspace has no room for a plan.", nameof(scratch)),
            buildsPlan: true, ProductBatch.One(gradient, gradientColumns, output), gradientType, outputType, layout, a, c, scratch);

    /// <summary>
    /// The device address of the explicit generator rows of <paramref name="options"/> (uploaded at construction, or
    /// uploaded now into the workspace), or null when they are to be sampled.
    /// </summary>
    private ulong? ExplicitGeneratorRows(PammOptions options, in CompressWorkspace scratch)
    {
        if (options.GeneratorIndices is not { } indices) return null;
        // The engine's own options were copied and uploaded once at construction; ResolveK has rejected an empty list.
        return ReferenceEquals(options, Options) ? _explicitGenerators!.Address : UploadGeneratorIndices(indices, scratch.GeneratorRows);
    }

    /// <summary>
    /// Uploads per-call explicit generator indices into scratch through one reused host array. The upload's host
    /// memory must stay valid until the copy completes, and the next call rewrites that array, so this waits for the
    /// stream: a host synchronisation on a path meant for tests and reproductions, never taken by seeded sampling.
    /// </summary>
    private unsafe ulong UploadGeneratorIndices(IReadOnlyList<int> indices, ulong uploaded)
    {
        int k = indices.Count;
        if (_hostGeneratorIndices.Length < k) _hostGeneratorIndices = new int[k];
        for (int j = 0; j < k; j++) _hostGeneratorIndices[j] = indices[j];
        fixed (int* source = _hostGeneratorIndices)
        {
            // Inside the fixed block: the array stays pinned until the copy has completed.
            Stream.UploadAsync(uploaded, source, (long)k * sizeof(int));
            Stream.Synchronize();
        }
        return uploaded;
    }

    /// <summary>
    /// The products, with the compression's plan: the one it keeps; else, for an engine-owned compression, one built now in a
    /// block of the engine's pool and kept for the next products; else (caller storage without a plan) one built in
    /// <paramref name="scratch"/> for these products only.
    /// </summary>
    private void ApproxMatmulCore(GpuCompressedActivation compressed, in ProductBatch batch, DType gradientType,
        DType outputType, ProductLayout layout, float a, float c, in ProductWorkspace scratch)
    {
        if (compressed.Plan is null && compressed.OwnsStorage)
        {
            var block = _storagePool.Rent(ProductPlan.Bytes(compressed.Rows, compressed.K));
            try
            {
                BuildPlan(compressed, ProductPlan.At(block.Address, compressed.Rows, compressed.K), block);
            }
            catch
            {
                _storagePool.Return(block);
                throw;
            }
        }
        bool transientPlan = compressed.Plan is null;
        // ProductScratch carved room for a plan exactly when the compression has none by now.
        var plan = compressed.Plan ?? scratch.Plan!.Value;
        new ProductPass(Stream, CompressedParts.Of(compressed), plan, buildsPlan: transientPlan, batch, gradientType, outputType,
            layout, a, c, scratch).Run();
    }

    /// <summary>Queues the plan's stages into <paramref name="plan"/> and keeps it with <paramref name="compressed"/>.</summary>
    private void BuildPlan(GpuCompressedActivation compressed, ProductPlan plan, DeviceBuffer<byte>? ownedBlock)
    {
        new PlanPass(Stream, CompressedParts.Of(compressed), plan).Run();
        compressed.KeepPlan(plan, ownedBlock);
    }

    private ulong Widen(ulong target, ulong source, long count, DType sourceType)
    {
        if (sourceType == DType.Float32) return source;
        PammKernels.ConvertToSingle(Stream, sourceType, source, count, target);
        return target;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void CheckCompressed(GpuCompressedActivation compressed)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        compressed.ThrowIfDisposed();
        if (ReferenceEquals(compressed.Engine, this)) return;
        // The engine's own storage is recycled in its stream's order, so only that stream may read it; caller storage may
        // be read on any stream of the device, with the caller ordering the streams (as a framework does across streams).
        if (compressed.OwnsStorage)
            throw new ArgumentException("The compressed activation was made by another engine, in that engine's storage.", nameof(compressed));
        if (!ReferenceEquals(compressed.Engine.Device, Device))
            throw new ArgumentException($"The compressed activation lives on {compressed.Engine.Device.Name}, not on the engine's device {Device.Name}.", nameof(compressed));
    }

    /// <summary>Checks a caller's storage or workspace block: non-null (unless optional and absent), aligned and large enough.</summary>
    private static void CheckCallerBlock(ulong address, long bytes, long needed, string name, string sizeFunction, bool optional)
    {
        if (optional && address == 0 && bytes == 0) return;
        if (address == 0)
            throw new ArgumentException($"{name} is a null pointer{(optional ? $" but {name}Bytes is {bytes} (give both, or 0 and 0 for the engine's own)" : "")}.", name);
        if (address % CompressedStorageLayout.StorageAlignment != 0)
            throw new ArgumentException($"{name} at 0x{address:x} is not aligned to {CompressedStorageLayout.StorageAlignment} bytes.", name);
        if (bytes < needed)
            throw new ArgumentException($"{name} holds {bytes} bytes; these shapes need {needed} ({sizeFunction}).", name);
    }

    private static void CheckSizes(int rows, int columns, int k)
    {
        CheckShape(rows, columns);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}] (the number of rows).");
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
        DTypes.TryOf<T>(out var dtype)
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
