using System.Runtime.InteropServices;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>
/// Exports that size what a caller provides: k for options and rows, the storage of a compressed activation and the
/// workspaces of compression and product (see pamm.h). Pure arithmetic: they work without CUDA.
/// </summary>
internal static unsafe class SizeExports
{
    /// <summary><c>pamm_status pamm_resolve_k(const pamm_options *options, int32_t rows, int32_t *k)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_resolve_k))]
    public static PammStatus pamm_resolve_k(NativeOptions* options, int rows, int* k)
    {
        try
        {
            NativeArguments.NotNull(k, "k");
            NativeArguments.NotNull(options, "options");
            NativeArguments.Positive(rows, "rows");
            *k = options->ToPammOptions(rows).ResolveK(rows);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compressed_storage_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, pamm_dtype alpha_dtype, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_storage_bytes))]
    public static PammStatus pamm_compressed_storage_bytes(int rows, int cols, int k, int dtype, int alphaDtype, nuint* bytes)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            DType type = CheckShapes(rows, cols, k, dtype);
            DType alphaType = NativeOptions.AlphaTypeOf(alphaDtype, "alpha_dtype");
            *bytes = (nuint)PammEngine.CompressedStorageBytes(rows, cols, k, type, alphaType);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compress_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compress_workspace_bytes))]
    public static PammStatus pamm_compress_workspace_bytes(int rows, int cols, int k, int dtype, nuint* bytes)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            CheckShapes(rows, cols, k, dtype);
            *bytes = (nuint)PammEngine.CompressWorkspaceBytes(rows, cols, k);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_product_plan_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_product_plan_bytes))]
    public static PammStatus pamm_product_plan_bytes(int rows, int cols, int k, int dtype, nuint* bytes)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            DType type = CheckShapes(rows, cols, k, dtype);
            *bytes = (nuint)PammEngine.ProductPlanBytes(rows, cols, k, type);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_planned_matmul_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t grad_cols, pamm_dtype out_dtype, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_planned_matmul_workspace_bytes))]
    public static PammStatus pamm_planned_matmul_workspace_bytes(int rows, int cols, int k, int dtype, int gradCols, int outDtype, nuint* bytes) =>
        ProductWorkspaceBytes(nameof(pamm_planned_matmul_workspace_bytes), rows, cols, k, dtype, gradCols, outDtype, bytes, planned: true);

    /// <summary><c>pamm_status pamm_approx_matmul_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t grad_cols, pamm_dtype out_dtype, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_approx_matmul_workspace_bytes))]
    public static PammStatus pamm_approx_matmul_workspace_bytes(int rows, int cols, int k, int dtype, int gradCols, int outDtype, nuint* bytes) =>
        ProductWorkspaceBytes(nameof(pamm_approx_matmul_workspace_bytes), rows, cols, k, dtype, gradCols, outDtype, bytes, planned: false);

    /// <summary>Either product workspace size; failures are reported under <paramref name="function"/>, the export's name.</summary>
    private static PammStatus ProductWorkspaceBytes(string function, int rows, int cols, int k, int dtype, int gradCols, int outDtype, nuint* bytes, bool planned)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            DType type = CheckShapes(rows, cols, k, dtype);
            NativeArguments.Positive(gradCols, "grad_cols");
            DType outputType = NativeArguments.ToDType(outDtype, "out_dtype");
            *bytes = (nuint)PammEngine.ApproxMatmulWorkspaceBytes(rows, cols, k, type, gradCols, outputType, planned);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(function, e);
        }
    }

    /// <summary><c>pamm_status pamm_approx_matmul_batch_workspace_bytes(int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, int32_t count, const int32_t *grad_cols, int32_t planned, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_approx_matmul_batch_workspace_bytes))]
    public static PammStatus pamm_approx_matmul_batch_workspace_bytes(int rows, int cols, int k, int dtype, int count, int* gradCols, int planned, nuint* bytes)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            DType type = CheckShapes(rows, cols, k, dtype);
            NativeArguments.BatchCount(count);
            NativeArguments.NotNull(gradCols, "grad_cols");
            var widths = new ReadOnlySpan<int>(gradCols, count);
            for (int i = 0; i < count; i++) NativeArguments.Positive(widths[i], $"grad_cols[{i}]");
            if (planned is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(planned), planned, "planned must be 0 or 1.");
            *bytes = (nuint)PammEngine.ApproxMatmulBatchWorkspaceBytes(rows, cols, k, type, widths, planned == 1);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_project_and_compress_workspace_bytes(int32_t rows, int32_t cols, int32_t k, int32_t projection_cols, size_t *bytes)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_project_and_compress_workspace_bytes))]
    public static PammStatus pamm_project_and_compress_workspace_bytes(int rows, int cols, int k, int projectionCols, nuint* bytes)
    {
        try
        {
            NativeArguments.NotNull(bytes, "bytes");
            *bytes = (nuint)ProjectionWorkspaceBytes(rows, cols, k, projectionCols);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary>The fused projection's workspace with its arguments named as in C (the engine names them in C#).</summary>
    internal static long ProjectionWorkspaceBytes(int rows, int cols, int k, int projectionCols)
    {
        CheckShapes(rows, cols, k, (int)DType.Float32);
        NativeArguments.Positive(projectionCols, "projection_cols");
        try
        {
            return PammEngine.ProjectAndCompressWorkspaceBytes(rows, cols, k, projectionCols);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // Only the 32-bit GEMM limits are left to fail here: m + k, or rows x cols.
            throw new ArgumentOutOfRangeException(e.ParamName == "rows" ? "rows" : "projection_cols", e.Message);
        }
    }

    /// <summary>The shape arguments the size functions share, named as in C.</summary>
    private static DType CheckShapes(int rows, int cols, int k, int dtype)
    {
        NativeArguments.Positive(rows, "rows");
        NativeArguments.Positive(cols, "cols");
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k = {k} must be in [1, rows = {rows}] (pamm_resolve_k gives it from options).");
        return NativeArguments.ToDType(dtype, "dtype");
    }
}
