using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>One X on the device, compressed by either similarity path; each call only queues work and returns the compressed form to free after timing.</summary>
public interface IGpuSimilarityWorkload : IDisposable
{
    /// <summary>Compresses X with cuBLAS similarities and the assignment kernel.</summary>
    GpuCompressedActivation CompressGemm();

    /// <summary>Compresses X with the fused similarity + argmax kernel.</summary>
    GpuCompressedActivation CompressFused();
}
