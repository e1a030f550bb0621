using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Where a product <c>a·Lᵀ R + c·output</c> goes and how it gets there: a float32 output is written by the GEMM itself
/// (GEMM beta = c); a 16-bit output goes through a float32 product in <see cref="Float32Product"/> that
/// <see cref="Store"/> rounds once into the output (<c>pamm_store_output</c>). Shared by PAMM's final GEMM and the exact
/// reference product, so both treat outputs alike.
/// </summary>
/// <param name="Output">The output, row-major.</param>
/// <param name="OutputType">Its element type.</param>
/// <param name="Layout">n × m (<see cref="ProductLayout.InputByGradient"/>) or m × n.</param>
/// <param name="C">The weight of the output's old value.</param>
/// <param name="Float32Product">Scratch for the float32 product of a 16-bit output (unused, and may be 0, for float32).</param>
internal readonly record struct ProductOutput(ulong Output, DType OutputType, ProductLayout Layout, float C, ulong Float32Product)
{
    /// <summary>The output is 16-bit: the GEMM writes <see cref="Float32Product"/> and <see cref="Store"/> rounds it.</summary>
    public bool NeedsStore => OutputType != DType.Float32;

    /// <summary>
    /// The GEMM <c>scalars.ProductScale · Lᵀ R (+ c·output for float32)</c>, with a·β, c and 0 already on the device
    /// (written by the second reduction pass, or by <see cref="PammKernels.ProductScalars"/>).
    /// </summary>
    public void Gemm(IDeviceStream stream, ProductScalars scalars, in ProductOperands operands, bool allowTf32)
    {
        ulong target = NeedsStore ? Float32Product : Output;
        ulong outputScale = NeedsStore ? scalars.Zero : scalars.OutputScale;
        stream.Gemm(operands.Gemm(Layout, scalars.ProductScale, outputScale, target, DType.Float32, allowTf32));
    }

    /// <summary>The 16-bit epilogue: output = round(product + c·output), one rounding.</summary>
    /// <exception cref="InvalidOperationException">A float32 output, which the GEMM writes itself.</exception>
    public void Store(IDeviceStream stream, long elements)
    {
        if (!NeedsStore) throw new InvalidOperationException("A float32 output is written by the GEMM itself.");
        PammKernels.StoreOutput(stream, OutputType, Float32Product, elements, C, Output);
    }
}
