namespace PammCuda;

/// <summary>Which of the two transposed forms of the product an approximate matmul writes.</summary>
public enum ProductLayout
{
    /// <summary><c>Õ ≈ Xᵀ G</c>, row-major n × m (n = columns of X, m = columns of G).</summary>
    InputByGradient,

    /// <summary><c>Õᵀ ≈ Gᵀ X</c>, row-major m × n: the <c>[out, in]</c> layout of a linear layer's weight gradient.</summary>
    GradientByInput,
}
