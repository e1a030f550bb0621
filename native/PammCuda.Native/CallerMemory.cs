namespace PammCuda.Native;

/// <summary>
/// Checks of the storage and workspace blocks a C caller provides, before any work: the messages name the C
/// parameters and the size function that gives the bytes needed.
/// </summary>
internal static unsafe class CallerMemory
{
    /// <summary>Storage for a compressed activation: non-NULL, 16-byte aligned, at least <paramref name="needed"/> bytes.</summary>
    public static void CheckStorage(nint storage, nuint storageBytes, long needed) =>
        CheckRequiredBlock(storage, storageBytes, needed, "storage", "pamm_compressed_storage_bytes");

    /// <summary>A product plan block: non-NULL, 16-byte aligned, at least <paramref name="needed"/> bytes.</summary>
    public static void CheckPlan(nint plan, nuint planBytes, long needed) =>
        CheckRequiredBlock(plan, planBytes, needed, "plan", "pamm_product_plan_bytes");

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

    /// <summary>
    /// The layout of storage that a caller opens again (<c>pamm_compressed_open</c>, <c>pamm_cpu_compressed_open</c>):
    /// its shape, k, dtype and α type, each checked under its C name, and the block itself.
    /// </summary>
    public static CompressedStorageLayout OpenedStorage(nint storage, nuint storageBytes, int rows, int cols, int k, int dtype, int alphaDtype)
    {
        NativeArguments.Positive(rows, "rows");
        NativeArguments.Positive(cols, "cols");
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k = {k} must be in [1, rows = {rows}].");
        DType type = NativeArguments.ToDType(dtype, "dtype");
        DType alphaType = NativeOptions.AlphaTypeOf(alphaDtype, "alpha_dtype");
        var layout = CompressedStorageLayout.For(rows, cols, k, type, alphaType);
        CheckStorage(storage, storageBytes, layout.TotalBytes);
        return layout;
    }

    /// <summary>A size_t byte count as the <see cref="long"/> the engine takes (a count past 2⁶³ cannot be real memory).</summary>
    public static long ToLong(nuint bytes) => bytes > long.MaxValue ? long.MaxValue : (long)bytes;

    /// <summary>A block the call cannot do without: non-NULL, aligned, and at least <paramref name="needed"/> bytes (<paramref name="name"/>_bytes).</summary>
    private static void CheckRequiredBlock(nint block, nuint bytes, long needed, string name, string sizeFunction)
    {
        NativeArguments.NotNull(block, name);
        CheckAligned(block, name);
        if (bytes < (ulong)needed)
            throw new ArgumentException($"{name}_bytes = {bytes} is too small: this needs {needed} bytes of {name} ({sizeFunction}).", name);
    }

    private static void CheckAligned(nint address, string name)
    {
        if (address % CompressedStorageLayout.StorageAlignment != 0)
            throw new ArgumentException($"{name} (0x{address:x}) is not aligned to {CompressedStorageLayout.StorageAlignment} bytes.", name);
    }
}
