using System.Runtime.InteropServices;
using PammCuda.Cuda;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>Exports of CUDA availability and the GPU engine on caller-owned device memory and streams (see pamm.h).</summary>
internal static unsafe class CudaExports
{
    /// <summary><c>pamm_status pamm_cuda_available(int32_t *available)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_cuda_available")]
    public static PammStatus Available(int* available)
    {
        try
        {
            NativeArguments.NotNull(available, "available");
            *available = CudaRuntime.CheckAvailability().IsAvailable ? 1 : 0;
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail("pamm_cuda_available", e);
        }
    }

    /// <summary><c>pamm_status pamm_cuda_unavailable_reason(char *buffer, size_t capacity, size_t *length)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_cuda_unavailable_reason")]
    public static PammStatus UnavailableReason(byte* buffer, nuint capacity, nuint* length)
    {
        try
        {
            return NativeStrings.CopyOut("pamm_cuda_unavailable_reason", UnavailableReasonText, buffer, capacity, length);
        }
        catch (Exception e)
        {
            return ExportErrors.Fail("pamm_cuda_unavailable_reason", e);
        }
    }

    /// <summary><c>pamm_status pamm_cuda_device_name(int32_t ordinal, char *buffer, size_t capacity, size_t *length)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_cuda_device_name")]
    public static PammStatus DeviceName(int ordinal, byte* buffer, nuint capacity, nuint* length)
    {
        try
        {
            return NativeStrings.CopyOut("pamm_cuda_device_name", () => DeviceNameText(ordinal), buffer, capacity, length);
        }
        catch (Exception e)
        {
            return ExportErrors.Fail("pamm_cuda_device_name", e);
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
    [UnmanagedCallersOnly(EntryPoint = "pamm_engine_create")]
    public static PammStatus EngineCreate(int ordinal, nint stream, NativeOptions* options, nint* engine)
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
            return ExportErrors.Fail("pamm_engine_create", e);
        }
    }

    /// <summary><c>pamm_status pamm_engine_destroy(pamm_engine engine)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_engine_destroy")]
    public static PammStatus EngineDestroy(nint engine)
    {
        try
        {
            HandleTable.Remove<EngineHandle>(engine, "engine", HandleKinds.Engine).Dispose();
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail("pamm_engine_destroy", e);
        }
    }

    /// <summary><c>pamm_status pamm_compress(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_compress")]
    public static PammStatus Compress(nint engine, nint x, int rows, int cols, int dtype, nint* compressed)
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
            return ExportErrors.Fail("pamm_compress", e);
        }
    }

    /// <summary><c>pamm_status pamm_compress_with_options(pamm_engine engine, const void *x, int32_t rows, int32_t cols, pamm_dtype dtype, const pamm_options *options, pamm_compressed *compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = "pamm_compress_with_options")]
    public static PammStatus CompressWithOptions(nint engine, nint x, int rows, int cols, int dtype, NativeOptions* options, nint* compressed)
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
            return ExportErrors.Fail("pamm_compress_with_options", e);
        }
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
    [UnmanagedCallersOnly(EntryPoint = "pamm_approx_matmul")]
    public static PammStatus ApproxMatmul(nint engine, nint compressed, nint grad, int gradCols, int gradDtype, nint output, int outDtype, int layout, float a, float c)
    {
        try
        {
            EngineHandle owner = HandleTable.Get<EngineHandle>(engine, "engine", HandleKinds.Engine);
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            if (!ReferenceEquals(handle.Engine, owner))
                throw new InvalidHandleException(handle.IsOnGpu
                    ? "compressed was made by another engine."
                    : "compressed was made by pamm_cpu_compress; use pamm_cpu_approx_matmul.");
            NativeArguments.NotNull(grad, "grad");
            NativeArguments.NotNull(output, "out");
            NativeArguments.Positive(gradCols, "grad_cols");
            owner.Engine.ApproxMatmul(
                (GpuCompressedActivation)handle.Activation, (ulong)grad, gradCols, NativeArguments.ToDType(gradDtype, "grad_dtype"),
                (ulong)output, NativeArguments.ToDType(outDtype, "out_dtype"), NativeArguments.ToLayout(layout, "layout"), a, c);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail("pamm_approx_matmul", e);
        }
    }
}
