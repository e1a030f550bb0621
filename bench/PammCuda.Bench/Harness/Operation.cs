namespace PammCuda.Bench.Harness;

/// <summary>What a benchmark method measures; decides the bytes it must move at least and what it is compared with.</summary>
public enum Operation
{
    /// <summary>PAMM compression of X (b × n): reads X, writes the compressed form.</summary>
    Compress,

    /// <summary>PAMM's approximate Xᵀ G from a compressed X: reads G and the compressed form, writes n × m.</summary>
    ApproxMatmul,

    /// <summary>One attention layer's backward use: compress X once, then three approximate products (Q, K, V).</summary>
    CompressAndQkv,

    /// <summary>Exact Xᵀ G by a BLAS GEMM: reads X and G, writes n × m.</summary>
    ExactGemm,

    /// <summary>The generator-sampling stage alone (the one kernel stage the engine exposes): writes k row indices.</summary>
    SampleGenerators,

    /// <summary>Copy of X and of G: reads and writes both; the bandwidth limit.</summary>
    Copy,
}
