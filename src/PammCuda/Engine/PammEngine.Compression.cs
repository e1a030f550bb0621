using PammCuda.Devices;

namespace PammCuda.Engine;

// Compression: X into its compressed form (into the engine's storage or the caller's), alone or from the Q/K/V GEMM, and the sizes a caller allocates for it.
public sealed partial class PammEngine
{
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

    private void CompressCore(ulong x, GpuCompressedActivation compressed, PammOptions options, in CompressWorkspace scratch) =>
        PrepareCompress(x, CompressedParts.Of(compressed), options, scratch).Run();

    /// <summary>
    /// The compression pass of X into <paramref name="compressed"/> with <paramref name="options"/>, its generators in place
    /// (explicit ones uploaded, or left for the pass to sample). The engine runs it whole; the stage benchmark stage by stage.
    /// </summary>
    internal CompressPass PrepareCompress(ulong x, CompressedParts compressed, PammOptions options, in CompressWorkspace scratch) =>
        new(Stream, x, compressed, scratch, ExplicitGeneratorRows(options, scratch), options);

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
}
