using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

public class CpuExactMatmulTests
{
    // X (3 × 2) and G (3 × 3); Xᵀ G worked by hand: row c of the result is Σ_i X[i, c]·G_i.
    private static readonly float[] HandX = [1, 2, 3, 4, 5, 6];
    private static readonly float[] HandG = [1, 0, -1, 2, 1, 0, 0, 1, 1];

    [Test]
    public void Hand_computed_product_in_both_layouts()
    {
        var inputByGradient = new float[6];
        CpuPamm.ExactMatmul<float, float, float>(HandX, 3, 2, HandG, 3, inputByGradient);
        Assert.That(inputByGradient, Is.EqualTo(new float[] { 7, 8, 4, 10, 10, 4 }));

        var gradientByInput = new float[6];
        CpuPamm.ExactMatmul<float, float, float>(HandX, 3, 2, HandG, 3, gradientByInput, ProductLayout.GradientByInput);
        Assert.That(gradientByInput, Is.EqualTo(new float[] { 7, 10, 8, 10, 4, 4 }));
    }

    [Test]
    public void Scales_and_accumulates_into_the_output()
    {
        float[] output = [1, 1, 1, 1, 1, 1];
        CpuPamm.ExactMatmul<float, float, float>(HandX, 3, 2, HandG, 3, output, ProductLayout.InputByGradient, a: 2f, c: -1f);
        Assert.That(output, Is.EqualTo(new float[] { 13, 15, 7, 19, 19, 7 }));
    }

    [Test]
    public void Does_not_read_the_output_when_c_is_zero()
    {
        var output = Enumerable.Repeat(float.NaN, 6).ToArray();
        CpuPamm.ExactMatmul<float, float, float>(HandX, 3, 2, HandG, 3, output, ProductLayout.InputByGradient, a: 1f, c: 0f);
        Assert.That(output, Is.EqualTo(new float[] { 7, 8, 4, 10, 10, 4 }));
    }

    [Test]
    public void Writes_only_the_product_into_a_larger_output()
    {
        var output = new float[8];
        output[6] = 42f;
        output[7] = -3f;
        CpuPamm.ExactMatmul<float, float, float>(HandX, 3, 2, HandG, 3, output);
        Assert.That(output, Is.EqualTo(new float[] { 7, 8, 4, 10, 10, 4, 42, -3 }));
    }

    // Float32 accumulation of b terms in any order errs by at most γ_b·Σ|terms| with γ_b ≈ b·u;
    // the sizes cross the SIMD widths and the per-task row blocks.
    [TestCase(1, 1, 1)]
    [TestCase(7, 3, 5)]
    [TestCase(129, 65, 33)]
    [TestCase(300, 17, 600)]
    public void Matches_a_double_reference_within_the_float32_accumulation_bound(int rows, int columns, int gradientColumns)
    {
        float[] x = Gaussian(rows, columns, 1), g = Gaussian(rows, gradientColumns, 2);
        var output = new float[columns * gradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, output);
        double[] bound = AbsoluteProduct(x, rows, columns, g, gradientColumns).Select(s => (rows + 1) * Float32Roundoff * s).ToArray();
        AssertWithin(output, Product(x, rows, columns, g, gradientColumns), bound);
    }

    [Test]
    public void The_two_layouts_are_bitwise_transposes()
    {
        const int rows = 50, columns = 13, gradientColumns = 21;
        float[] x = Gaussian(rows, columns, 3), g = Gaussian(rows, gradientColumns, 4);
        var inputByGradient = new float[columns * gradientColumns];
        var gradientByInput = new float[columns * gradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, inputByGradient);
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, gradientByInput, ProductLayout.GradientByInput);
        Assert.That(Bits(gradientByInput), Is.EqualTo(Bits(Transpose(inputByGradient, columns, gradientColumns))));
    }

    // Inputs that already are Half or bfloat16 widen exactly, so the only extra error is the final rounding:
    // |out − O| ≤ u_out·|O| + γ_b·Σ|terms| (u_out = 2⁻¹¹ for Half, 2⁻⁸ for bfloat16).
    [Test]
    public void Half_and_bfloat16_stay_within_their_rounding_bound()
    {
        const int rows = 64, columns = 9, gradientColumns = 11;
        Half[] xHalf = Gaussian(rows, columns, 5).Select(v => (Half)v).ToArray();
        BFloat16[] gBf16 = Gaussian(rows, gradientColumns, 6).Select(v => (BFloat16)v).ToArray();
        float[] x = xHalf.Select(v => (float)v).ToArray(), g = gBf16.Select(v => (float)v).ToArray();
        double[] exact = Product(x, rows, columns, g, gradientColumns);
        double[] absolute = AbsoluteProduct(x, rows, columns, g, gradientColumns);

        var halfOutput = new Half[columns * gradientColumns];
        CpuPamm.ExactMatmul<Half, BFloat16, Half>(xHalf, rows, columns, gBf16, gradientColumns, halfOutput);
        AssertWithin(halfOutput.Select(v => (float)v).ToArray(), exact,
            exact.Select((o, e) => HalfRoundoff * Math.Abs(o) + (rows + 2) * Float32Roundoff * absolute[e]).ToArray());

        var bf16Output = new BFloat16[columns * gradientColumns];
        CpuPamm.ExactMatmul<Half, BFloat16, BFloat16>(xHalf, rows, columns, gBf16, gradientColumns, bf16Output);
        AssertWithin(bf16Output.Select(v => (float)v).ToArray(), exact,
            exact.Select((o, e) => BFloat16Roundoff * Math.Abs(o) + (rows + 2) * Float32Roundoff * absolute[e]).ToArray());
    }

    [Test]
    public void NaN_and_infinity_propagate_like_the_arithmetic_says()
    {
        float[] x = [float.NaN, 1, 0, 2];
        float[] g = [1, float.PositiveInfinity, 1, 1];
        var output = new float[4];
        CpuPamm.ExactMatmul<float, float, float>(x, 2, 2, g, 2, output);
        // Row 0 of the product takes NaN from X[0,0]; O[1,1] = 1·∞ + 2·1 = ∞; O[1,0] = 1·1 + 2·1 = 3.
        Assert.That(float.IsNaN(output[0]) && float.IsNaN(output[1]), Is.True);
        Assert.That(output[2], Is.EqualTo(3f));
        Assert.That(output[3], Is.EqualTo(float.PositiveInfinity));
    }
}
