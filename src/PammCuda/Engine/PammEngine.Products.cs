using PammCuda.Devices;

namespace PammCuda.Engine;

// Products: the approximate weight gradient from a compressed form, one or a batch of three, the plan they share, and the sizes a caller allocates for them.
public sealed partial class PammEngine
{
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

    /// <summary>
    /// The product pass of <paramref name="compressed"/> with G into <paramref name="output"/>. The engine runs it whole;
    /// the stage benchmark stage by stage.
    /// </summary>
    internal ProductPass PrepareProduct(CompressedParts compressed, ulong gradient, int gradientColumns, DType gradientType,
        ulong output, DType outputType, ProductLayout layout, float a, float c, in ProductWorkspace scratch) =>
        new(Stream, compressed, scratch.Plan ?? throw new ArgumentException("The stage benchmark's workspace has no room for a plan.", nameof(scratch)),
            buildsPlan: true, ProductBatch.One(gradient, gradientColumns, output), gradientType, outputType, layout, a, c, scratch);

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
}
