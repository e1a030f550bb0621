using System.Runtime.InteropServices;

namespace PammCuda.Native;

/// <summary>Exports that work on a compressed activation of either backend (see pamm.h).</summary>
internal static unsafe class CompressedExports
{
    /// <summary><c>pamm_status pamm_compressed_get_info(pamm_compressed compressed, pamm_compressed_info *info)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_get_info))]
    public static PammStatus pamm_compressed_get_info(nint compressed, NativeCompressedInfo* info)
    {
        try
        {
            NativeArguments.NotNull(info, "info");
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            *info = NativeCompressedInfo.Of(handle);
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compressed_read_dropped_rows(pamm_compressed compressed, int32_t *dropped_rows)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_read_dropped_rows))]
    public static PammStatus pamm_compressed_read_dropped_rows(nint compressed, int* droppedRows)
    {
        try
        {
            NativeArguments.NotNull(droppedRows, "dropped_rows");
            CompressedHandle handle = HandleTable.Get<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed);
            // The one call that waits for the device: η stays there, where products apply β without it.
            *droppedRows = handle.Activation.ReadDroppedRows();
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }

    /// <summary><c>pamm_status pamm_compressed_free(pamm_compressed compressed)</c></summary>
    [UnmanagedCallersOnly(EntryPoint = nameof(pamm_compressed_free))]
    public static PammStatus pamm_compressed_free(nint compressed)
    {
        try
        {
            HandleTable.Remove<CompressedHandle>(compressed, "compressed", HandleKinds.Compressed).Release();
            return ExportErrors.Success();
        }
        catch (Exception e)
        {
            return ExportErrors.Fail(e);
        }
    }
}
