using System.Runtime.InteropServices;
using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>The <c>pamm_compressed_info</c> struct of pamm.h, field for field.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeCompressedInfo
{
    public int Rows;
    public int Cols;
    public int K;
    public int DroppedRows;
    public int DType;
    public int OnGpu;
    public long StoredBytes;
    public long DenseBytes;
    public int AlphaDType;

    public static NativeCompressedInfo Of(CompressedHandle handle)
    {
        ICompressedActivation activation = handle.Activation;
        return new NativeCompressedInfo
        {
            Rows = activation.Rows,
            Cols = activation.Columns,
            K = activation.K,
            DroppedRows = DroppedRowsWithoutWaiting(activation),
            DType = NativeArguments.ToCode(activation.DType),
            OnGpu = handle.IsOnGpu ? 1 : 0,
            StoredBytes = activation.StoredBytes,
            DenseBytes = activation.DenseBytes,
            AlphaDType = NativeArguments.ToCode(activation.AlphaType),
        };
    }

    /// <summary>η where it is known on the host (CPU handles, or GPU handles whose η was read); −1 for a GPU η still on the device.</summary>
    private static int DroppedRowsWithoutWaiting(ICompressedActivation activation) => activation switch
    {
        GpuCompressedActivation gpu => gpu.TryGetDroppedRows(out int known) ? known : -1,
        _ => activation.ReadDroppedRows(),
    };
}
