using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// Half and bfloat16 widen exactly to float32 and all arithmetic is float32, so a reduced-precision run must
/// be the float32 run on the widened values with only the output rounded (once) to its type: bitwise, not
/// merely within a tolerance. The distance to the true product is then the float32 accumulation bound plus
/// one rounding of the output type (u = 2⁻¹¹ for Half, 2⁻⁸ for bfloat16).
/// </summary>
public class CpuPammPrecisionTests
{
    private const int Rows = 150, Columns = 40, GradientColumns = 270;

    [Test]
    public void Half_everywhere_is_the_widened_float_run_rounded_once()
    {
        float[] xFloat = Clustered(Rows, Columns, 4, 0.2, 50), gFloat = Gaussian(Rows, GradientColumns, 51), oldFloat = Gaussian(Columns, GradientColumns, 52);
        Half[] x = Narrow<Half>(xFloat), g = Narrow<Half>(gFloat), old = Narrow<Half>(oldFloat);
        var options = new PammOptions { Ratio = 0.1, Seed = 12, Epsilon = 0.6 };

        var compressed = CpuPamm.Compress<Half>(x, Rows, Columns, options);
        var reference = CpuPamm.Compress<float>(Widen(x), Rows, Columns, options);
        Assert.That(Bits(compressed.Alpha), Is.EqualTo(Bits(reference.Alpha)));
        Assert.That(Assignments(compressed), Is.EqualTo(Assignments(reference)));
        Assert.That(compressed.DroppedRows, Is.EqualTo(reference.DroppedRows));
        Assert.That(Widen(compressed.Generators.ToArray()), Is.EqualTo(reference.Generators.ToArray()));

        var output = (Half[])old.Clone();
        CpuPamm.ApproxMatmul<Half, Half, Half>(compressed, g, GradientColumns, output, ProductLayout.GradientByInput, a: 0.5f, c: -1f);
        float[] expected = Widen(old);
        CpuPamm.ApproxMatmul<float, float, float>(reference, Widen(g), GradientColumns, expected, ProductLayout.GradientByInput, a: 0.5f, c: -1f);
        Assert.That(output, Is.EqualTo(Narrow<Half>(expected)));
    }

    [Test]
    public void Mixed_types_are_the_widened_float_run_rounded_once()
    {
        BFloat16[] x = Narrow<BFloat16>(Clustered(Rows, Columns, 4, 0.2, 53));
        Half[] g = Narrow<Half>(Gaussian(Rows, GradientColumns, 54));
        var options = new PammOptions { K = 9, Seed = 13 };
        var compressed = CpuPamm.Compress<BFloat16>(x, Rows, Columns, options);
        var reference = CpuPamm.Compress<float>(Widen(x), Rows, Columns, options);

        var expected = new float[Columns * GradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(reference, Widen(g), GradientColumns, expected);

        var asFloat = new float[expected.Length];
        CpuPamm.ApproxMatmul<BFloat16, Half, float>(compressed, g, GradientColumns, asFloat);
        Assert.That(Bits(asFloat), Is.EqualTo(Bits(expected)));

        var asBFloat16 = new BFloat16[expected.Length];
        CpuPamm.ApproxMatmul<BFloat16, Half, BFloat16>(compressed, g, GradientColumns, asBFloat16);
        Assert.That(asBFloat16, Is.EqualTo(Narrow<BFloat16>(expected)));
    }

    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void Ratio_one_in_reduced_precision_is_within_float32_accumulation_plus_one_output_rounding(DType dtype)
    {
        const int rows = 64, columns = 12, gradientColumns = 10;
        float[] x = Gaussian(rows, columns, 55), g = Gaussian(rows, gradientColumns, 56);
        float[] output = dtype == DType.Float16
            ? RatioOneProduct<Half>(ref x, ref g, rows, columns, gradientColumns)
            : RatioOneProduct<BFloat16>(ref x, ref g, rows, columns, gradientColumns);
        double roundoff = dtype == DType.Float16 ? HalfRoundoff : BFloat16Roundoff;
        double[] exact = Product(x, rows, columns, g, gradientColumns);
        double[] absolute = AbsoluteProduct(x, rows, columns, g, gradientColumns);
        AssertWithin(output, exact, exact.Select((o, e) => roundoff * Math.Abs(o) + (rows + 2) * Float32Roundoff * absolute[e]).ToArray());
    }

    // Narrows x and g in place to the values T can hold (the exact inputs of the product) and returns the product widened.
    private static float[] RatioOneProduct<T>(ref float[] x, ref float[] g, int rows, int columns, int gradientColumns) where T : unmanaged
    {
        T[] xt = Narrow<T>(x), gt = Narrow<T>(g);
        x = Widen(xt);
        g = Widen(gt);
        var compressed = CpuPamm.Compress<T>(xt, rows, columns, new PammOptions { Ratio = 1 });
        var output = new T[columns * gradientColumns];
        CpuPamm.ApproxMatmul<T, T, T>(compressed, gt, gradientColumns, output);
        return Widen(output);
    }

    private static T[] Narrow<T>(float[] values) where T : unmanaged => values.Select(ElementConvert.FromSingle<T>).ToArray();

    private static float[] Widen<T>(T[] values) where T : unmanaged => values.Select(ElementConvert.ToSingle).ToArray();
}
