using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Row-major left (inner × leftColumns) and right (inner × rightColumns) operands of <c>Lᵀ R</c>, and the GEMM that
/// computes it in each <see cref="ProductLayout"/>; used by the product pass and the exact reference product.
/// </summary>
internal readonly record struct ProductOperands(ulong Left, DType LeftType, int LeftColumns, ulong Right, DType RightType, int RightColumns, int Inner)
{
    /// <summary>
    /// <c>target = alpha·Lᵀ R + beta·target</c> as row-major leftColumns × rightColumns (InputByGradient) or
    /// rightColumns × leftColumns (GradientByInput); alpha and beta are device pointers to float32.
    /// </summary>
    public GemmDescriptor Gemm(ProductLayout layout, ulong alpha, ulong beta, ulong target, DType targetType, bool allowTf32) =>
        // Row-major n × m is column-major m × n = Rᵀ-as-stored · L: gemm(N, T, m, n, inner, R, L);
        // row-major m × n is column-major n × m: gemm(N, T, n, m, inner, L, R).
        layout == ProductLayout.InputByGradient
            ? new GemmDescriptor(GemmOperation.None, GemmOperation.Transpose, RightColumns, LeftColumns, Inner,
                alpha, Right, RightType, RightColumns,
                Left, LeftType, LeftColumns, beta, target, targetType, RightColumns, allowTf32)
            : new GemmDescriptor(GemmOperation.None, GemmOperation.Transpose, LeftColumns, RightColumns, Inner,
                alpha, Left, LeftType, LeftColumns,
                Right, RightType, RightColumns, beta, target, targetType, LeftColumns, allowTf32);
}
