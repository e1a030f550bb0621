using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Native;

/// <summary>Exports for the version, errors, options and handle bookkeeping (see pamm.h).</summary>
internal static unsafe class GeneralExports
{
    /// <summary>PAMM_ABI_VERSION of pamm.h; incremented on every incompatible change.</summary>
    public const int AbiVersion = 3;

    private static readonly byte* VersionText = AllocateForever(typeof(GeneralExports).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary><c>const char *pamm_version(void)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_version))]
    public static byte* pamm_version() => VersionText;

    /// <summary><c>int32_t pamm_abi_version(void)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_abi_version))]
    public static int pamm_abi_version() => AbiVersion;

    /// <summary><c>const char *pamm_last_error(void)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_last_error))]
    public static byte* pamm_last_error() => LastError.Pointer;

    /// <summary><c>const char *pamm_status_name(pamm_status status)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_status_name))]
    public static byte* pamm_status_name(PammStatus status) => status switch
    {
        PammStatus.Ok => NativeStrings.Literal("PAMM_OK\0"u8),
        PammStatus.InvalidArgument => NativeStrings.Literal("PAMM_ERROR_INVALID_ARGUMENT\0"u8),
        PammStatus.InvalidHandle => NativeStrings.Literal("PAMM_ERROR_INVALID_HANDLE\0"u8),
        PammStatus.CudaUnavailable => NativeStrings.Literal("PAMM_ERROR_CUDA_UNAVAILABLE\0"u8),
        PammStatus.OutOfMemory => NativeStrings.Literal("PAMM_ERROR_OUT_OF_MEMORY\0"u8),
        PammStatus.BufferTooSmall => NativeStrings.Literal("PAMM_ERROR_BUFFER_TOO_SMALL\0"u8),
        PammStatus.Runtime => NativeStrings.Literal("PAMM_ERROR_RUNTIME\0"u8),
        _ => NativeStrings.Literal("PAMM_STATUS_UNKNOWN\0"u8),
    };

    /// <summary><c>pamm_status pamm_options_init(pamm_options *options)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_options_init))]
    internal static PammStatus pamm_options_init(NativeOptions* options)
    {
        try
        {
            NativeArguments.NotNull(options, "options");
            *options = NativeOptions.Default;
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_live_handle_count(int64_t *count)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_live_handle_count))]
    public static PammStatus pamm_live_handle_count(long* count)
    {
        try
        {
            NativeArguments.NotNull(count, "count");
            *count = HandleTable.Count;
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_live_compressed_count(int64_t *count)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_live_compressed_count))]
    public static PammStatus pamm_live_compressed_count(long* count)
    {
        try
        {
            NativeArguments.NotNull(count, "count");
            *count = HandleTable.CountOf<CompressedHandle>();
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_cuda_device_references(int32_t ordinal, int64_t *count)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_cuda_device_references))]
    public static PammStatus pamm_cuda_device_references(int ordinal, long* count)
    {
        try
        {
            NativeArguments.NotNull(count, "count");
            *count = Cuda.CudaComputeDevice.Shared.ReferenceCount(ordinal);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    // The version string lives as long as the library: C callers may keep the pointer.
    private static byte* AllocateForever(string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        var buffer = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(buffer, length));
        buffer[length] = 0;
        return buffer;
    }
}
