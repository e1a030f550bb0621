namespace PammCuda.Bench.Harness;

/// <summary>What a benchmark method measures; decides the bytes it must move at least and what it is compared with.</summary>
public enum Operation
{
    /// <summary>PAMM compression of X (b × n): reads X, writes the compressed form.</summary>
    Compress,

    /// <summary>
    /// <see cref="Compress"/> with refined generators (<see cref="PammOptions.RefineGenerators"/>): reads X twice more
    /// (the generators' sums and the new α) and rewrites C and α.
    /// </summary>
    CompressRefined,

    /// <summary>PAMM's approximate Xᵀ G from a compressed X: reads G and the compressed form, writes n × m.</summary>
    ApproxMatmul,

    /// <summary>One attention layer's backward use: compress X once, then three approximate products (Q, K, V).</summary>
    CompressAndQkv,

    /// <summary>
    /// <see cref="CompressAndQkv"/> with the three products in one batched pass (<c>ApproxMatmulBatch</c>: each stage one
    /// launch for all three), as <c>PammQKV</c>'s backward runs them. Compared with the same three exact products.
    /// </summary>
    CompressAndQkvBatched,

    /// <summary>Exact Xᵀ G by a BLAS GEMM: reads X and G, writes n × m.</summary>
    ExactGemm,

    /// <summary>The generator-sampling stage alone: writes k row indices.</summary>
    SampleGenerators,

    /// <summary>Copy of X and of G: reads and writes both; the bandwidth limit.</summary>
    Copy,

    /// <summary>Stage: gather of C and ‖C_j‖², the generator rows marked in the row map, and η zeroed.</summary>
    Gather,

    /// <summary>Stage: ‖X_i‖² of every row (run by the engine only when ε &lt; 1).</summary>
    RowSquaredNorms,

    /// <summary>Stage: the similarity GEMM S = X Cᵀ in float32.</summary>
    Similarities,

    /// <summary>Stage: argmax, α and the ε test from S.</summary>
    Assign,

    /// <summary>Stage: radix-sort grouping of the rows by generator.</summary>
    GroupRows,

    /// <summary>Stage: first reduction pass, per-(chunk, generator) partial sums of α_i G_i.</summary>
    ReduceChunks,

    /// <summary>Stage: second reduction pass, B̃ from the partial sums (and the last stage's a·β and c from η).</summary>
    ReduceGroups,

    /// <summary>Stage: the last one, output = round(a·β·Cᵀ B̃) in the output's dtype (<c>pamm_expand</c>).</summary>
    Expand,

    /// <summary>
    /// The last stage as it was before <c>pamm_expand</c>, at the same shape: cuBLAS's strict float32 GEMM into a float32
    /// block and, for a 16-bit output, a rounding pass. Not run by the engine: the reference <see cref="Expand"/> is read against.
    /// </summary>
    ExpandByCublas,

    /// <summary>
    /// The product's other sort-free form (design §8), in the place of the grouping: the dense assignment Pᵀ (k × b in G's
    /// dtype) from f and α. Not run by the engine: read against <see cref="GroupRows"/>.
    /// </summary>
    AssignmentMatrix,

    /// <summary>
    /// The same form in the place of both reduction passes: B̃ = Pᵀ G by one cuBLAS GEMM. Not run by the engine: read
    /// against <see cref="ReduceChunks"/> and <see cref="ReduceGroups"/> together.
    /// </summary>
    ReduceByGemm,

    /// <summary>
    /// The forward Q/K/V projection as a framework runs it: one GEMM of X (b × n) with the stacked weight
    /// [W_q; W_k; W_v] (3n × n), output b × 3n in X's type. The reference of <see cref="QkvGemmWithCompression"/>.
    /// </summary>
    QkvGemm,

    /// <summary>
    /// The same projection with PAMM's compression from it: one GEMM of X with [W_q; W_k; W_v; C], the projection
    /// stored in X's type, and sampling, gather and assignment (<c>PammEngine.ProjectAndCompressInto</c>).
    /// </summary>
    QkvGemmWithCompression,

    /// <summary>
    /// The plain projection followed by PAMM's own compression, whose similarity GEMM reads X a second time: what
    /// <c>PammQKV</c> runs by default, and what <see cref="QkvGemmWithCompression"/> has to beat.
    /// </summary>
    QkvGemmThenCompress,

    /// <summary>
    /// The plain projection and PAMM's own compression side by side: the compression on a second stream, forked from the
    /// first before the GEMM and joined back after it (device-side events, the host never waits). Compression reads only X,
    /// not the projection, so nothing orders the two; the memory- and latency-bound compression can then run beside the
    /// compute-bound GEMM, and its cost is what the overlap leaves of <see cref="QkvGemmThenCompress"/>'s.
    /// </summary>
    QkvGemmBesideCompress,

    /// <summary>
    /// <see cref="QkvGemmBesideCompress"/> with the compression's stream of the highest priority, so that the block
    /// scheduler gives it SMs as the GEMM's blocks retire: what <c>PammQKV(overlap_compression=True)</c> does.
    /// </summary>
    QkvGemmBesideCompressHighPriority,

    /// <summary>
    /// The GEMM of X with [W_q; W_k; W_v; C] alone, output b × (3n + k) in X's type: no staging, no assignment. What a
    /// fused path whose GEMM wrote the projection and the similarities in X's dtype (no float32 staging, S rounded to
    /// 16 bits) could cost at the least, measured so that building one is decided by a number.
    /// </summary>
    QkvAndSimilarityGemm,
}
