namespace PammCuda.Engine;

/// <summary>
/// The constants 1 and 0 a compression's GEMM reads as its α and β in device pointer mode: two floats in the
/// compression's workspace, written by the gather kernel before the GEMM reads them. Living in the workspace, they
/// cost an engine no device memory of its own, so that creating an engine allocates nothing and waits for nothing
/// (as a stream captured into a CUDA graph requires).
/// </summary>
/// <param name="Address">Device address of the pair.</param>
internal readonly record struct GemmConstants(ulong Address)
{
    /// <summary>Bytes the pair takes.</summary>
    public const long Bytes = 2 * sizeof(float);

    /// <summary>1.</summary>
    public ulong One => Address;

    /// <summary>0.</summary>
    public ulong Zero => Address + sizeof(float);
}

/// <summary>
/// A product's GEMM scalars in device memory: a·β, the weight of the product (the GEMM's alpha, named here for what it
/// holds, not to be confused with PAMM's α and β), c, the weight of the output's old value (the GEMM's beta), and 0, the
/// beta of a GEMM into a float32 staging block. Written by <c>pamm_reduce_groups</c> (or <c>pamm_product_scalars</c> for
/// the exact product) into the product's workspace before its GEMM, so that β, computed from η on the device, never
/// makes a round trip to the host, and an engine keeps no scalars of its own.
/// </summary>
/// <param name="Address">Device address of the three floats.</param>
internal readonly record struct ProductScalars(ulong Address)
{
    /// <summary>Bytes the three floats take.</summary>
    public const long Bytes = 3 * sizeof(float);

    /// <summary>a·β, with <see cref="OutputScale"/> right after it.</summary>
    public ulong ProductScale => Address;

    /// <summary>c.</summary>
    public ulong OutputScale => Address + sizeof(float);

    /// <summary>0.</summary>
    public ulong Zero => Address + 2 * sizeof(float);
}
