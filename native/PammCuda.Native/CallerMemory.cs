namespace PammCuda.Native;

/// <summary>
/// Checks of the storage and workspace blocks a C caller provides, before any work: the messages name the C
/// parameters and the size function that gives the bytes needed.
/// </summary>
internal static unsafe class CallerMemory
{
    /// <summary>Storage for a compressed activation: non-NULL, 16-byte aligned, at least <paramref name="needed"/> bytes.</summary>
    public static void CheckStorage(nint storage, nuint storageBytes, long needed)
    {
        NativeArguments.NotNull(storage, "storage");
        CheckAligned(storage, "storage");
        if (storageBytes < (ulong)needed)
            throw new ArgumentException(
                $"storage_bytes = {storageBytes} is too small: these shapes need {needed} bytes of storage (pamm_compressed_storage_bytes).", nameof(storage));
    }

    /// <summary>A product plan block: non-NULL, 16-byte aligned, at least <paramref name="needed"/> bytes.</summary>
    public static void CheckPlan(nint plan, nuint planBytes, long needed)
    {
        NativeArguments.NotNull(plan, "plan");
        CheckAligned(plan, "plan");
        if (planBytes < (ulong)needed)
            throw new ArgumentException(
                $"plan_bytes = {planBytes} is too small: this compression needs {needed} bytes of plan (pamm_product_plan_bytes).", nameof(plan));
    }

    /// <summary>A workspace: NULL with 0 bytes (the engine's own), or non-NULL, 16-byte aligned and at least <paramref name="needed"/> bytes.</summary>
    public static void CheckWorkspace(nint workspace, nuint workspaceBytes, long needed, string sizeFunction)
    {
        if (workspace == 0)
        {
            if (workspaceBytes != 0)
                throw new ArgumentNullException(nameof(workspace), $"workspace is NULL but workspace_bytes = {workspaceBytes} (NULL and 0 use the engine's own scratch).");
            return;
        }
        CheckAligned(workspace, "workspace");
        if (workspaceBytes < (ulong)needed)
            throw new ArgumentException(
                $"workspace_bytes = {workspaceBytes} is too small: these shapes need {needed} bytes of workspace ({sizeFunction}).", nameof(workspace));
    }

    /// <summary>A size_t byte count as the <see cref="long"/> the engine takes (a count past 2⁶³ cannot be real memory).</summary>
    public static long ToLong(nuint bytes) => bytes > long.MaxValue ? long.MaxValue : (long)bytes;

    private static void CheckAligned(nint address, string name)
    {
        if (address % CompressedStorageLayout.StorageAlignment != 0)
            throw new ArgumentException($"{name} (0x{address:x}) is not aligned to {CompressedStorageLayout.StorageAlignment} bytes.", name);
    }
}
