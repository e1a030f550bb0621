using PammCuda.Cpu;

namespace PammCuda.Native;

/// <summary>
/// A CPU-compressed activation that lives in host storage the caller owns (<c>pamm_cpu_compress_into</c>): this object
/// only refers to the block, and every product reads C, f, α and η from it, so the block is the whole truth.
/// </summary>
internal sealed unsafe class HostStoredActivation(byte* storage, CompressedStorageLayout layout) : ICompressedActivation
{
    public CompressedStorageLayout Layout { get; } = layout;

    public int Rows => Layout.Rows;

    public int Columns => Layout.Columns;

    public int K => Layout.K;

    public DType DType => Layout.DType;

    public long StoredBytes => CompressedSize.StoredBytes(Rows, Columns, K, DType, AlphaType);

    public DType AlphaType => Layout.AlphaType;

    public long DenseBytes => CompressedSize.DenseBytes(Rows, Columns, DType);

    /// <summary>η as the storage holds it (a host read).</summary>
    public int ReadDroppedRows() => *(int*)(storage + Layout.DroppedOffset);

    /// <summary>The activation the storage holds now, copied out of it.</summary>
    public ICompressedActivation ReadActivation()
    {
        var bytes = new ReadOnlySpan<byte>(storage, checked((int)Layout.TotalBytes));
        return DType switch
        {
            DType.Float32 => CpuPamm.ReadCompressed<float>(bytes, Rows, Columns, K, AlphaType),
            DType.Float16 => CpuPamm.ReadCompressed<Half>(bytes, Rows, Columns, K, AlphaType),
            _ => CpuPamm.ReadCompressed<BFloat16>(bytes, Rows, Columns, K, AlphaType),
        };
    }
}
