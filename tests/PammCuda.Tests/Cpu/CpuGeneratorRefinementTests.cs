using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// Generator refinement (<see cref="PammOptions.RefineGenerators"/>) on the CPU backend: each generator turned to the
/// α-weighted sum of its rows at its own norm, and α fitted to it again; f, η and the stored size unchanged.
/// </summary>
public class CpuGeneratorRefinementTests
{
    private static readonly float[] Small = RefinementExample;
    private static readonly PammOptions SmallOptions = RefinementExampleOptions;

    [Test]
    public void A_generator_becomes_the_weighted_sum_of_its_rows_at_its_norm_and_alpha_is_fitted_again_float32() =>
        AssertSmallExample<float>();

    [Test]
    public void A_generator_becomes_the_weighted_sum_of_its_rows_at_its_norm_and_alpha_is_fitted_again_float16() =>
        AssertSmallExample<Half>();

    [Test]
    public void A_generator_becomes_the_weighted_sum_of_its_rows_at_its_norm_and_alpha_is_fitted_again_bfloat16() =>
        AssertSmallExample<BFloat16>();

    private static void AssertSmallExample<T>() where T : unmanaged
    {
        T[] x = Small.Select(ElementConvert.FromSingle<T>).ToArray();
        var refined = CpuPamm.Compress<T>(x, 7, 3, SmallOptions);
        var plain = CpuPamm.Compress<T>(x, 7, 3, SmallOptions with { RefineGenerators = false });
        Assert.Multiple(() =>
        {
            Assert.That(plain.Generators.ToArray().Select(ElementConvert.ToSingle), Is.EqualTo(new float[] { 5, 0, 0, 0, 0, 2 }));
            Assert.That(plain.Alpha.ToArray(), Is.EqualTo(new float[] { 1, 1, 1, 0, 1, 0, -2 }));
            Assert.That(refined.Generators.ToArray().Select(ElementConvert.ToSingle), Is.EqualTo(RefinementExampleGenerators));
            Assert.That(refined.Alpha.ToArray(), Is.EqualTo(RefinementExampleAlpha));
            Assert.That(Assignments(refined), Is.EqualTo(new[] { 0, 0, 0, 0, 1, 0, 1 }));
            Assert.That(Assignments(refined), Is.EqualTo(Assignments(plain)));
            Assert.That(refined.StoredBytes, Is.EqualTo(plain.StoredBytes));
        });
    }

    [Test]
    public void Bfloat16_alpha_is_the_refined_alpha_rounded()
    {
        var wide = CpuPamm.Compress<float>(Small, 7, 3, SmallOptions);
        var narrow = CpuPamm.Compress<float>(Small, 7, 3, SmallOptions with { AlphaType = DType.BFloat16 });
        Assert.That(narrow.Alpha.ToArray(), Is.EqualTo(wide.Alpha.ToArray().Select(a => (float)(BFloat16)a)));
        Assert.That(narrow.Alpha[0], Is.Not.EqualTo(wide.Alpha[0]), "0.6 needs more than 8 significant bits");
    }

    [Test]
    public void Refinement_moves_the_represented_rows_closer_to_x_keeps_f_eta_and_the_norms_and_shrinks_the_product_error()
    {
        const int rows = 2048, columns = 48, gradientColumns = 32;
        float[] x = Clustered(rows, columns, 12, 0.4, 70), g = Gaussian(rows, gradientColumns, 71);
        var options = new PammOptions { K = 16, Seed = 5, Epsilon = 0.8 };
        var plain = CpuPamm.Compress<float>(x, rows, columns, options);
        var refined = CpuPamm.Compress<float>(x, rows, columns, options with { RefineGenerators = true });
        double[] exact = Product(x, rows, columns, g, gradientColumns);
        Assert.Multiple(() =>
        {
            Assert.That(Assignments(refined), Is.EqualTo(Assignments(plain)));
            Assert.That(refined.DroppedRows, Is.EqualTo(plain.DroppedRows).And.Positive);
            for (int i = 0; i < rows; i++)
                if (plain.Alpha[i] == 0f) Assert.That(refined.Alpha[i], Is.Zero, $"row {i} was dropped");
            for (int j = 0; j < 16; j++)
                Assert.That(Norm(refined.Generators.Slice(j * columns, columns)),
                    Is.EqualTo(Norm(plain.Generators.Slice(j * columns, columns))).Within(NormTolerancePercent(columns)).Percent, $"‖C_{j}‖");
            double before = ResidualSquares(x, columns, plain), after = ResidualSquares(x, columns, refined);
            Assert.That(after, Is.LessThan(0.9 * before), "Σ‖X_i − α_i C_f(i)‖² falls");
            double errorBefore = RelativeFrobeniusError(ApproximateProduct(plain, g, gradientColumns), exact);
            double errorAfter = RelativeFrobeniusError(ApproximateProduct(refined, g, gradientColumns), exact);
            Assert.That(errorAfter, Is.LessThan(errorBefore), "‖Õ − XᵀG‖ / ‖XᵀG‖");
        });
    }

    [Test]
    public void A_group_holding_a_row_of_nan_keeps_its_generator_and_the_other_groups_are_refined()
    {
        // Row 6 of NaN scores NaN against every generator, so it joins group 0 (the first eligible generator) with α = NaN;
        // a row [0, 3, 4] (α 2) gives group 1 a new direction, D_1 = [0, 6, 10].
        float[] x = [.. Small, 0, 3, 4];
        x[6 * 3 + 2] = float.NaN;
        var refined = CpuPamm.Compress<float>(x, 8, 3, SmallOptions);
        float[] generators = refined.Generators.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(refined.AssignmentOf(6), Is.Zero);
            Assert.That(generators[..3], Is.EqualTo(new float[] { 5, 0, 0 }), "group 0's sum is NaN: C_0 is kept");
            Assert.That(refined.Alpha[6], Is.NaN, "NaN reaches the product as an exact GEMM would carry it");
            Assert.That(refined.Alpha[1], Is.EqualTo(1f), "group 0's other rows keep their α against the kept C_0");
            Assert.That(generators[3], Is.Zero);
            Assert.That((double)generators[4] / generators[5], Is.EqualTo(0.6).Within(1e-6), "C_1 along [0, 6, 10]");
            Assert.That(Norm(refined.Generators.Slice(3, 3)), Is.EqualTo(2).Within(1e-6), "at C_1's norm");
        });
    }

    [Test]
    public void Refined_results_are_bitwise_identical_for_any_thread_count()
    {
        const int rows = 1500, columns = 40;
        float[] x = Clustered(rows, columns, 6, 0.3, 72);
        var options = new PammOptions { Ratio = 0.02, Seed = 9, RefineGenerators = true };
        var reference = CpuPamm.Compress<float>(x, rows, columns, options, new ParallelOptions { MaxDegreeOfParallelism = 1 });
        foreach (int threads in new[] { 2, 3, -1 })
        {
            var run = CpuPamm.Compress<float>(x, rows, columns, options, new ParallelOptions { MaxDegreeOfParallelism = threads });
            Assert.That(Bits(run.Generators.ToArray()), Is.EqualTo(Bits(reference.Generators.ToArray())), $"C with {threads} threads");
            Assert.That(Bits(run.Alpha), Is.EqualTo(Bits(reference.Alpha)), $"α with {threads} threads");
        }
    }

    // The scale's and each element's rounding, and the float32 sums of both squared norms over n columns: about (n + 4)·u
    // relatively, doubled for margin.
    private static double NormTolerancePercent(int columns) => 2 * (columns + 4) * Float32Roundoff * 100;

    private static double Norm(ReadOnlySpan<float> row)
    {
        double sum = 0;
        foreach (float value in row) sum += (double)value * value;
        return Math.Sqrt(sum);
    }

    private static double ResidualSquares(float[] x, int columns, CpuCompressedActivation<float> compressed)
    {
        double sum = 0;
        for (int i = 0; i < compressed.Rows; i++)
        {
            int j = compressed.AssignmentOf(i);
            for (int p = 0; p < columns; p++)
            {
                double residual = x[i * columns + p] - (double)compressed.Alpha[i] * compressed.Generators[j * columns + p];
                sum += residual * residual;
            }
        }
        return sum;
    }

    private static float[] ApproximateProduct(CpuCompressedActivation<float> compressed, float[] g, int gradientColumns)
    {
        var product = new float[compressed.Columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, product);
        return product;
    }
}
