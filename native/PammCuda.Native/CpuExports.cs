using System.Runtime.InteropServices;
using PammCuda.Cpu;

namespace PammCuda.Native;

/// <summary>Exports of the CPU backend on host memory (see pamm.h).</summary>
internal static unsafe class CpuExports
{
    /// <summary><c>pamm_status pamm_cpu_compress(const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_compress))]
    public static PammStatus pamm_cpu_compress(void* x, int rows, int cols, int dtype, NativeOptions* options, nint* compressed)
    {
        try
        {
            PammOptions pammOptions = CheckCompression(x, rows, dtype, options, compressed, out DType type);
            ICompressedActivation activation = CpuDispatch.Compress(x, rows, cols, type, pammOptions);
            *compressed = HandleTable.Add(new CompressedHandle(activation, engine: null));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cpu_compress_into(const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options, void *storage, size_t storage_bytes, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_compress_into))]
    public static PammStatus pamm_cpu_compress_into(void* x, int rows, int cols, int dtype, NativeOptions* options, byte* storage, nuint storageBytes,
        nint* compressed)
    {
        try
        {
            PammOptions pammOptions = CheckCompression(x, rows, dtype, options, compressed, out DType type);
            NativeArguments.Positive(cols, "cols");
            var layout = CompressedStorageLayout.For(rows, cols, pammOptions.ResolveK(rows), type, pammOptions.AlphaType);
            CallerMemory.CheckStorage((nint)storage, storageBytes, layout.TotalBytes);
            CheckHostStorageSize(layout);
            ICompressedActivation activation = CpuDispatch.CompressInto(x, rows, cols, type, pammOptions, storage, layout);
            *compressed = HandleTable.Add(new CompressedHandle(activation, engine: null));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cpu_compressed_open(void *storage, size_t storage_bytes, int32_t rows, int32_t cols, int32_t k, pamm_dtype dtype, pamm_dtype alpha_dtype, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_compressed_open))]
    public static PammStatus pamm_cpu_compressed_open(byte* storage, nuint storageBytes, int rows, int cols, int k, int dtype, int alphaDtype,
        nint* compressed)
    {
        try
        {
            NativeArguments.NotNull(compressed, "compressed");
            *compressed = 0;
            NativeArguments.HostElementCount(rows, cols, "rows", "cols");
            var layout = CallerMemory.OpenedStorage((nint)storage, storageBytes, rows, cols, k, dtype, alphaDtype);
            CheckHostStorageSize(layout);
            *compressed = HandleTable.Add(new CompressedHandle(new HostStoredActivation(storage, layout), engine: null));
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cpu_approx_matmul(pamm_compressed compressed, const void *grad, int32_t grad_cols, pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout, float a, float c)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_approx_matmul))]
    public static PammStatus pamm_cpu_approx_matmul(nint compressed, void* grad, int gradCols, int gradDtype, void* output, int outDtype, int layout, float a, float c)
    {
        try
        {
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            if (handle.IsOnGpu)
                throw new InvalidHandleException("compressed was made on the GPU by pamm_compress; use pamm_approx_matmul with its engine.");
            var product = new HostProduct(
                grad, gradCols, NativeArguments.ToDType(gradDtype, "grad_dtype"),
                output, NativeArguments.ToDType(outDtype, "out_dtype"), NativeArguments.ToLayout(layout, "layout"), a, c);
            CpuDispatch.ApproxMatmul(handle.Activation, product);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cpu_vector_bits(int32_t *bits)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_vector_bits))]
    public static PammStatus pamm_cpu_vector_bits(int* bits)
    {
        try
        {
            NativeArguments.NotNull(bits, "bits");
            *bits = CpuPamm.VectorBits;
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cpu_exact_matmul(const void *x, int32_t rows, int32_t cols, pamm_dtype x_dtype, const void *grad, int32_t grad_cols, pamm_dtype grad_dtype, void *out, pamm_dtype out_dtype, pamm_layout layout, float a, float c)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cpu_exact_matmul))]
    public static PammStatus pamm_cpu_exact_matmul(void* x, int rows, int cols, int xDtype, void* grad, int gradCols, int gradDtype, void* output, int outDtype, int layout, float a, float c)
    {
        try
        {
            NativeArguments.NotNull(x, "x");
            DType xType = NativeArguments.ToDType(xDtype, "x_dtype");
            var product = new HostProduct(
                grad, gradCols, NativeArguments.ToDType(gradDtype, "grad_dtype"),
                output, NativeArguments.ToDType(outDtype, "out_dtype"), NativeArguments.ToLayout(layout, "layout"), a, c);
            CpuDispatch.ExactMatmul(x, rows, cols, xType, product);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary>
    /// What both host compressions check first, in pamm.h's order (the output handle is cleared before anything can
    /// fail): the pointers, the dtype, the rows, and the options against the rows.
    /// </summary>
    private static PammOptions CheckCompression(void* x, int rows, int dtype, NativeOptions* options, nint* compressed, out DType type)
    {
        NativeArguments.NotNull(compressed, "compressed");
        *compressed = 0;
        NativeArguments.NotNull(x, "x");
        NativeArguments.NotNull(options, "options");
        type = NativeArguments.ToDType(dtype, "dtype");
        NativeArguments.Positive(rows, "rows");
        return options->ToPammOptions(rows);
    }

    /// <summary>The CPU backend reads storage as one span: refused here, naming the shape, rather than at the first product.</summary>
    private static void CheckHostStorageSize(CompressedStorageLayout layout)
    {
        if (layout.TotalBytes > int.MaxValue)
            throw new ArgumentOutOfRangeException("cols", layout.Columns,
                $"The CPU backend keeps at most {int.MaxValue} bytes of storage; these shapes need {layout.TotalBytes}.");
    }
}
