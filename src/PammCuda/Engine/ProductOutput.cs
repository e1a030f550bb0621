using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Where a product <c>a·Lᵀ R + c·output</c> goes: the output, its dtype and layout, and the weight of its old value.
/// PAMM's product writes it with one kernel in every dtype (<see cref="ProductPass.Expand"/>). The exact reference product,
/// a GEMM over b, goes through <see cref="Gemm"/>: a float32 output is written by the GEMM itself (GEMM beta = c); a 16-bit
/// output goes through a float32 product in a staging block that <see cref="Store"/> rounds once into the output
/// (<c>pamm_store_output</c>).
/// </summary>
/// <param name="Output">The output, row-major.</param>
/// <param name="OutputType">Its element type.</param>
/// <param name="Layout">n × m (<see cref="ProductLayout.InputByGradient"/>) or m × n.</param>
/// <param name="C">The weight of the output's old value.</param>
internal readonly record struct ProductOutput(ulong Output, DType OutputType, ProductLayout Layout, float C)
{
    /// <summary>The output is 16-bit: a GEMM writes a float32 staging block and <see cref="Store"/> rounds it.</summary>
    public bool NeedsStore => OutputType != DType.Float32;

    /// <summary>
    /// The GEMM <c>scalars.ProductScale · Lᵀ R (+ c·output for float32)</c>, with a·β, c and 0 already on the device
    /// (written by <see cref="PammKernels.ProductScalars"/>), into the output or, for a 16-bit one, into
    /// <paramref name="float32Product"/>.
    /// </summary>
    public void Gemm(IDeviceStream stream, ProductScalars scalars, in ProductOperands operands, bool allowTf32, ulong float32Product)
    {
        ulong target = NeedsStore ? float32Product : Output;
        ulong outputScale = NeedsStore ? scalars.Zero : scalars.OutputScale;
        stream.Gemm(operands.Gemm(Layout, scalars.ProductScale, outputScale, target, DType.Float32, allowTf32));
    }

    /// <summary>The 16-bit epilogue: output = round(product + c·output), one rounding.</summary>
    /// <exception cref="InvalidOperationException">A float32 output, which the GEMM writes itself.</exception>
    public void Store(IDeviceStream stream, long elements, ulong float32Product)
    {
        if (!NeedsStore) throw new InvalidOperationException("A float32 output is written by the GEMM itself.");
        PammKernels.StoreOutput(stream, OutputType, float32Product, elements, C, Output);
    }
}
