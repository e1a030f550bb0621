using System.Runtime.InteropServices;
using PammCuda.Cuda;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>Exports of CUDA availability and the GPU engine on caller-owned device memory and streams (see pamm.h).</summary>
internal static unsafe class CudaExports
{
    /// <summary><c>pamm_status pamm_cuda_available(int32_t *available)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cuda_available))]
    public static PammStatus pamm_cuda_available(int* available)
    {
        try
        {
            NativeArguments.NotNull(available, "available");
            *available = CudaRuntime.CheckAvailability().IsAvailable ? 1 : 0;
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cuda_unavailable_reason(char *buffer, size_t capacity, size_t *length)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cuda_unavailable_reason))]
    public static PammStatus pamm_cuda_unavailable_reason(byte* buffer, nuint capacity, nuint* length)
    {
        try
        {
            return NativeStrings.CopyOut("pamm_cuda_unavailable_reason", UnavailableReasonText, buffer, capacity, length);
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cuda_device_name(int32_t ordinal, char *buffer, size_t capacity, size_t *length)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cuda_device_name))]
    public static PammStatus pamm_cuda_device_name(int ordinal, byte* buffer, nuint capacity, nuint* length)
    {
        try
        {
            return NativeStrings.CopyOut("pamm_cuda_device_name", () => DeviceNameText(ordinal), buffer, capacity, length);
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    private static string UnavailableReasonText()
    {
        CudaAvailability availability = CudaRuntime.CheckAvailability();
        return availability.IsAvailable ? "" : availability.Reason;
    }

    private static string DeviceNameText(int ordinal)
    {
        CudaDevice device = CudaDevice.Get(ordinal);
        return $"{device.Name} (sm_{device.ComputeCapability.Number})";
    }

    /// <summary><c>pamm_status pamm_engine_create(int32_t ordinal, void *stream, const pamm_options *options, pamm_engine *engine)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_engine_create))]
    public static PammStatus pamm_engine_create(int ordinal, nint stream, NativeOptions* options, nint* engine)
    {
        try
        {
            NativeArguments.NotNull(engine, "engine");
            *engine = 0;
            NativeArguments.NotNull(options, "options");
            PammOptions pammOptions = options->ToPammOptions();
            *engine = HandleTable.Add(new EngineHandle(ordinal, stream, pammOptions));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_engine_destroy(pamm_engine engine)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_engine_destroy))]
    public static PammStatus pamm_engine_destroy(nint engine)
    {
        try
        {
            HandleTable.Remove<EngineHandle>(engine, "engine", HandleKinds.Engine).Dispose();
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compress(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compress))]
    public static PammStatus pamm_compress(nint engine, nint x, int rows, int cols, int dtype, nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            DType type = CheckInput(x, rows, cols, dtype);
            NativeOptions.CheckK(owner.Engine.Options.K ?? 0, rows);
            GpuCompressedActivation activation = owner.Engine.Compress((ulong)x, rows, cols, type);
            *compressed = HandleTable.Add(new CompressedHandle(activation, owner));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compress_with_options(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compress_with_options))]
    public static PammStatus pamm_compress_with_options(nint engine, nint x, int rows, int cols, int dtype, NativeOptions* options, nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            // Checked before the engine, as pamm_engine_create does, so a missing options struct is named on any host.
            NativeArguments.NotNull(options, "options");
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            DType type = CheckInput(x, rows, cols, dtype);
            PammOptions pammOptions = options->ToPammOptions(rows);
            GpuCompressedActivation activation = owner.Engine.Compress((ulong)x, rows, cols, type, pammOptions);
            *compressed = HandleTable.Add(new CompressedHandle(activation, owner));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compress_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options, void *storage, size_t storage_bytes, void *workspace, size_t workspace_bytes, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compress_into))]
    public static PammStatus pamm_compress_into(nint engine, nint x, int rows, int cols, int dtype, NativeOptions* options,
        nint storage, nuint storageBytes, nint workspace, nuint workspaceBytes, nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            // Everything that does not need the engine is checked first, so these messages are the same on any host.
            NativeArguments.NotNull(options, "options");
            DType type = CheckInput(x, rows, cols, dtype);
            PammOptions pammOptions = options->ToPammOptions(rows);
            int k = pammOptions.ResolveK(rows);
            CallerMemory.CheckStorage(storage, storageBytes, PammEngine.CompressedStorageBytes(rows, cols, k, type, pammOptions.AlphaType));
            CallerMemory.CheckWorkspace(workspace, workspaceBytes, PammEngine.CompressWorkspaceBytes(rows, cols, k), "pamm_compress_workspace_bytes");
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            GpuCompressedActivation activation = owner.Engine.CompressInto((ulong)x, rows, cols, type, pammOptions,
                (ulong)storage, CallerMemory.ToLong(storageBytes), (ulong)workspace, CallerMemory.ToLong(workspaceBytes));
            *compressed = HandleTable.Add(new CompressedHandle(activation, owner));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_project_and_compress_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, void *stacked_weight, int32_t projection_cols, void *projection, const pamm_options *options, void *storage, size_t storage_bytes, void *workspace, size_t workspace_bytes, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_project_and_compress_into))]
    public static PammStatus pamm_project_and_compress_into(nint engine, nint x, int rows, int cols, int dtype, nint stackedWeight, int projectionCols,
        nint projection, NativeOptions* options, nint storage, nuint storageBytes, nint workspace, nuint workspaceBytes, nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            // Everything that does not need the engine is checked first, so these messages are the same on any host.
            NativeArguments.NotNull(options, "options");
            DType type = CheckInput(x, rows, cols, dtype);
            NativeArguments.NotNull(stackedWeight, "stacked_weight");
            NativeArguments.Positive(projectionCols, "projection_cols");
            NativeArguments.NotNull(projection, "projection");
            *compressed = ProjectAndCompress(engine, x, rows, cols, type, stackedWeight, [new ProjectionOutput((ulong)projection, projectionCols)],
                projectionCols, options, storage, storageBytes, workspace, workspaceBytes);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_project_and_compress_split_into(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, void *stacked_weight, int32_t outputs, const int32_t *output_cols, void *const *projections, const pamm_options *options, void *storage, size_t storage_bytes, void *workspace, size_t workspace_bytes, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_project_and_compress_split_into))]
    public static PammStatus pamm_project_and_compress_split_into(nint engine, nint x, int rows, int cols, int dtype, nint stackedWeight, int outputs,
        int* outputCols, nint* projections, NativeOptions* options, nint storage, nuint storageBytes, nint workspace, nuint workspaceBytes,
        nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            NativeArguments.NotNull(options, "options");
            DType type = CheckInput(x, rows, cols, dtype);
            NativeArguments.NotNull(stackedWeight, "stacked_weight");
            NativeArguments.Positive(outputs, "outputs");
            NativeArguments.NotNull(outputCols, "output_cols");
            NativeArguments.NotNull(projections, "projections");
            var split = new ProjectionOutput[outputs];
            long projectionCols = 0;
            for (int i = 0; i < outputs; i++)
            {
                NativeArguments.Positive(outputCols[i], $"output_cols[{i}]");
                NativeArguments.NotNull(projections[i], $"projections[{i}]");
                split[i] = new ProjectionOutput((ulong)projections[i], outputCols[i]);
                projectionCols += outputCols[i];
            }
            if (projectionCols > int.MaxValue)
                throw new ArgumentOutOfRangeException("output_cols", projectionCols, $"The outputs' {projectionCols} columns together exceed int32.");
            *compressed = ProjectAndCompress(engine, x, rows, cols, type, stackedWeight, split, (int)projectionCols, options, storage,
                storageBytes, workspace, workspaceBytes);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary>
    /// Both projection exports after their own arguments (<paramref name="projectionCols"/>: the outputs' columns summed):
    /// the options, storage and workspace (still before the engine, so
    /// these messages are the same on any host), then the engine's call; returns the new handle.
    /// </summary>
    private static nint ProjectAndCompress(nint engine, nint x, int rows, int cols, DType type, nint stackedWeight, ProjectionOutput[] outputs,
        int projectionCols, NativeOptions* options, nint storage, nuint storageBytes, nint workspace, nuint workspaceBytes)
    {
        PammOptions pammOptions = options->ToPammOptions(rows);
        int k = pammOptions.ResolveK(rows);
        CallerMemory.CheckStorage(storage, storageBytes, PammEngine.CompressedStorageBytes(rows, cols, k, type, pammOptions.AlphaType));
        CallerMemory.CheckWorkspace(workspace, workspaceBytes, SizeExports.ProjectionWorkspaceBytes(rows, cols, k, projectionCols),
            "pamm_project_and_compress_workspace_bytes");
        EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
        GpuCompressedActivation activation = owner.Engine.ProjectAndCompressInto((ulong)x, rows, cols, type, (ulong)stackedWeight, outputs,
            pammOptions, (ulong)storage, CallerMemory.ToLong(storageBytes), (ulong)workspace, CallerMemory.ToLong(workspaceBytes));
        return HandleTable.Add(new CompressedHandle(activation, owner));
    }

    /// <summary>The input arguments that both compress exports share, in pamm_compress's order; returns the dtype.</summary>
    private static DType CheckInput(nint x, int rows, int cols, int dtype)
    {
        NativeArguments.NotNull(x, "x");
        DType type = NativeArguments.ToDType(dtype, "dtype");
        NativeArguments.Positive(rows, "rows");
        NativeArguments.Positive(cols, "cols");
        return type;
    }

    /// <summary><c>pamm_status pamm_approx_matmul(pamm_engine engine, pamm_compressed compressed, const void *grad, int32_t grad_cols, pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout, float a, float c)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_approx_matmul))]
    public static PammStatus pamm_approx_matmul(nint engine, nint compressed, nint grad, int gradCols, int gradDtype, nint output, int outDtype, int layout, float a, float c)
    {
        try
        {
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            CheckUsableBy(handle, owner);
            var product = new DeviceProduct(grad, gradCols, gradDtype, output, outDtype, layout);
            Run(owner, handle, product, a, c, workspace: 0, workspaceBytes: 0);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_approx_matmul_with_workspace(pamm_engine engine, pamm_compressed compressed, const void *grad, int32_t grad_cols, pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout, float a, float c, void *workspace, size_t workspace_bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_approx_matmul_with_workspace))]
    public static PammStatus pamm_approx_matmul_with_workspace(nint engine, nint compressed, nint grad, int gradCols, int gradDtype, nint output, int outDtype,
        int layout, float a, float c, nint workspace, nuint workspaceBytes)
    {
        try
        {
            // The compressed handle gives the shapes the workspace is checked against, before the engine is looked up,
            // so that these messages are the same on any host.
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            var product = new DeviceProduct(grad, gradCols, gradDtype, output, outDtype, layout);
            CallerMemory.CheckWorkspace(workspace, workspaceBytes, WorkspaceBytes(handle, gradCols, product.OutputType),
                "pamm_approx_matmul_workspace_bytes (pamm_planned_matmul_workspace_bytes once the handle has a plan)");
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            CheckUsableBy(handle, owner);
            Run(owner, handle, product, a, c, workspace, workspaceBytes);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_approx_matmul_batch(pamm_engine engine, pamm_compressed compressed, int32_t count, const void *const *grads, const int32_t *grad_cols, pamm_dtype grad_dtype, void *const *outs, pamm_dtype out_dtype, pamm_layout layout, float a, float c, void *workspace, size_t workspace_bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_approx_matmul_batch))]
    public static PammStatus pamm_approx_matmul_batch(nint engine, nint compressed, int count, nint* grads, int* gradCols, int gradDtype, nint* outs,
        int outDtype, int layout, float a, float c, nint workspace, nuint workspaceBytes)
    {
        try
        {
            // As for one product: everything the handle and the arguments decide is checked before the engine is looked up.
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            Span<BatchedProduct> products = stackalloc BatchedProduct[PammEngine.MaxBatchedProducts];
            products = products[..BatchProducts(count, grads, gradCols, outs, products)];
            DType gradientType = NativeArguments.ToDType(gradDtype, "grad_dtype");
            DType outputType = NativeArguments.ToDType(outDtype, "out_dtype");
            ProductLayout productLayout = NativeArguments.ToLayout(layout, "layout");
            Span<int> widths = stackalloc int[products.Length];
            for (int i = 0; i < products.Length; i++) widths[i] = products[i].GradientColumns;
            CallerMemory.CheckWorkspace(workspace, workspaceBytes, BatchWorkspaceBytes(handle, widths), "pamm_approx_matmul_batch_workspace_bytes");
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            CheckUsableBy(handle, owner);
            owner.Engine.ApproxMatmulBatch((GpuCompressedActivation)handle.Activation, products, gradientType, outputType, productLayout, a, c,
                (ulong)workspace, CallerMemory.ToLong(workspaceBytes));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary>
    /// The C arrays of a batch as <see cref="BatchedProduct"/>s in <paramref name="products"/>, checked naming the C
    /// argument and element (<c>grads[1]</c>); returns the count.
    /// </summary>
    private static int BatchProducts(int count, nint* grads, int* gradCols, nint* outs, Span<BatchedProduct> products)
    {
        NativeArguments.BatchCount(count);
        NativeArguments.NotNull(grads, "grads");
        NativeArguments.NotNull(gradCols, "grad_cols");
        NativeArguments.NotNull(outs, "outs");
        for (int i = 0; i < count; i++)
        {
            NativeArguments.NotNull(grads[i], $"grads[{i}]");
            NativeArguments.Positive(gradCols[i], $"grad_cols[{i}]");
            NativeArguments.NotNull(outs[i], $"outs[{i}]");
            products[i] = new BatchedProduct((ulong)grads[i], gradCols[i], (ulong)outs[i]);
        }
        return count;
    }

    /// <summary>The workspace a device batch of the handle needs now; for a host handle, what any batch of its shapes may need.</summary>
    private static long BatchWorkspaceBytes(CompressedHandle handle, ReadOnlySpan<int> widths)
    {
        if (handle.Activation is GpuCompressedActivation gpu) return PammEngine.ApproxMatmulBatchWorkspaceBytes(gpu, widths);
        ICompressedActivation activation = handle.Activation;
        return PammEngine.ApproxMatmulBatchWorkspaceBytes(activation.Rows, activation.Columns, activation.K, activation.DType, widths);
    }

    /// <summary><c>pamm_status pamm_compressed_prepare_products(pamm_engine engine, pamm_compressed compressed, void *plan, size_t plan_bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_prepare_products))]
    public static PammStatus pamm_compressed_prepare_products(nint engine, nint compressed, nint plan, nuint planBytes)
    {
        try
        {
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            ICompressedActivation activation = handle.Activation;
            CallerMemory.CheckPlan(plan, planBytes, PammEngine.ProductPlanBytes(activation.Rows, activation.Columns, activation.K, activation.DType));
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            CheckUsableBy(handle, owner);
            var gpu = (GpuCompressedActivation)handle.Activation;
            if (gpu.HasProductPlan)
                throw new ArgumentException("compressed already has a product plan (made by its first product, or by an earlier call); its products reuse it.", nameof(compressed));
            owner.Engine.PrepareProductsInto(gpu, (ulong)plan, CallerMemory.ToLong(planBytes));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compressed_open(pamm_engine engine, void *storage, size_t storage_bytes, int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, pamm_dtype alpha_dtype, void *plan, size_t plan_bytes, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_open))]
    public static PammStatus pamm_compressed_open(nint engine, nint storage, nuint storageBytes, int rows, int cols, int k, int dtype, int alphaDtype,
        nint plan, nuint planBytes, nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            // Everything that does not need the engine is checked first, so these messages are the same on any host.
            var layout = CallerMemory.OpenedStorage(storage, storageBytes, rows, cols, k, dtype, alphaDtype);
            if (plan != 0 || planBytes != 0)
                CallerMemory.CheckPlan(plan, planBytes, PammEngine.ProductPlanBytes(rows, cols, k, layout.DType));
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            GpuCompressedActivation activation = owner.Engine.OpenCompressed((ulong)storage, CallerMemory.ToLong(storageBytes), rows, cols, k,
                layout.DType, layout.AlphaType, (ulong)plan, CallerMemory.ToLong(planBytes));
            *compressed = HandleTable.Add(new CompressedHandle(activation, owner));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary>
    /// The workspace a device product of the handle needs now (no room for grouping the rows once it has a plan); for a
    /// host handle, which no device product takes, what any product of its shapes may need.
    /// </summary>
    private static long WorkspaceBytes(CompressedHandle handle, int gradCols, DType outputType)
    {
        NativeArguments.Positive(gradCols, "grad_cols");
        if (handle.Activation is GpuCompressedActivation gpu) return PammEngine.ApproxMatmulWorkspaceBytes(gpu, gradCols, outputType);
        ICompressedActivation activation = handle.Activation;
        return PammEngine.ApproxMatmulWorkspaceBytes(activation.Rows, activation.Columns, activation.K, activation.DType, gradCols, outputType);
    }

    private static void CheckUsableBy(CompressedHandle handle, EngineHandle owner)
    {
        if (handle.IsUsableBy(owner)) return;
        throw new InvalidHandleException(handle.IsOnGpu
            ? "compressed was made by another engine in that engine's storage (or on another device); only compressions into caller storage (pamm_compress_into) may be used by other engines of their device."
            : "compressed was made by pamm_cpu_compress; use pamm_cpu_approx_matmul.");
    }

    private static void Run(EngineHandle owner, CompressedHandle handle, in DeviceProduct product, float a, float c, nint workspace, nuint workspaceBytes) =>
        owner.Engine.ApproxMatmul((GpuCompressedActivation)handle.Activation, product.Gradient, product.GradientColumns, product.GradientType,
            product.Output, product.OutputType, product.Layout, a, c, (ulong)workspace, CallerMemory.ToLong(workspaceBytes));

    /// <summary>The gradient and output arguments of a device product, checked in the order pamm.h lists them.</summary>
    private readonly struct DeviceProduct
    {
        public DeviceProduct(nint grad, int gradCols, int gradDtype, nint output, int outDtype, int layout)
        {
            NativeArguments.NotNull(grad, "grad");
            NativeArguments.NotNull(output, "out");
            NativeArguments.Positive(gradCols, "grad_cols");
            Gradient = (ulong)grad;
            GradientColumns = gradCols;
            GradientType = NativeArguments.ToDType(gradDtype, "grad_dtype");
            Output = (ulong)output;
            OutputType = NativeArguments.ToDType(outDtype, "out_dtype");
            Layout = NativeArguments.ToLayout(layout, "layout");
        }

        public ulong Gradient { get; }
        public int GradientColumns { get; }
        public DType GradientType { get; }
        public ulong Output { get; }
        public DType OutputType { get; }
        public ProductLayout Layout { get; }
    }
}
