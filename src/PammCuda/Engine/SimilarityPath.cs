namespace PammCuda.Engine;

/// <summary>How <c>PammEngine.Compress</c> computes the similarities s_ij = ⟨X_i, C_j⟩ before the argmax.</summary>
internal enum SimilarityPath
{
    /// <summary>cuBLAS GEMMs into a float32 b × k scratch, in row chunks of bounded size, then <c>pamm_assign</c> reads it.</summary>
    Gemm,

    /// <summary><c>pamm_similarity_argmax</c>: one kernel computes each row's k dot products and its f and α, with no scratch.</summary>
    Fused,
}
