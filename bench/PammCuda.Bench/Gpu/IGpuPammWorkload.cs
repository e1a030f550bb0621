namespace PammCuda.Bench.Gpu;

/// <summary>
/// PAMM's device operations on one prepared input. Each only queues work on the session's stream; what an
/// operation makes (a compressed form, a buffer) is returned so that it is freed after its timing ends.
/// </summary>
public interface IGpuPammWorkload : IDisposable
{
    /// <summary>The compressed X the products use.</summary>
    ICompressedActivation Compressed { get; }

    /// <summary>The engine's generator-sampling kernels alone, into buffers the workload allocated beforehand.</summary>
    void SampleGenerators();

    /// <summary>Compresses X; returns the compressed form.</summary>
    IDisposable Compress();

    /// <summary>Compresses X with refined generators (<see cref="PammOptions.RefineGenerators"/>); returns the compressed form.</summary>
    IDisposable CompressRefined();

    /// <summary>One approximate product Xᵀ G from the compressed X.</summary>
    void ApproxMatmul();

    /// <summary>Compresses X, then three approximate products against the Q, K and V gradients; returns the compressed form.</summary>
    IDisposable CompressAndQkv();

    /// <summary>Compresses X, then the three products in one batched pass; returns the compressed form.</summary>
    IDisposable CompressAndQkvBatched();
}
