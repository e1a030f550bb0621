using PammCuda.Cpu;
using PammCuda.Sampling;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

public class CpuApproxMatmulTests
{
    // With k = b every row is its own generator with α = 1, so B̃ = G exactly, and Cᵀ B̃ sums the same
    // products over the same ascending rows as the exact reference: the results are identical, not just close.
    [TestCase(ProductLayout.InputByGradient)]
    [TestCase(ProductLayout.GradientByInput)]
    public void Ratio_one_reproduces_the_exact_product(ProductLayout layout)
    {
        const int rows = 97, columns = 19, gradientColumns = 23;
        float[] x = Gaussian(rows, columns, 20), g = Gaussian(rows, gradientColumns, 21);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { Ratio = 1 });
        var approximate = new float[columns * gradientColumns];
        var exact = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate, layout);
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, exact, layout);
        Assert.That(approximate, Is.EqualTo(exact));
    }

    // Rows that are ±λ·C_j are represented exactly in real arithmetic (α = λ), so the only error is rounding:
    // α from a length-n dot product, B̃ over at most b rows, the product over k generators:
    // |Õ − O| ≤ (n + b + k + 4)·u·Σ_i |X_ic||G_i,col|.
    [Test]
    public void Scalar_multiples_of_explicit_generators_are_exact_to_rounding()
    {
        const int columns = 24, gradientColumns = 9, generators = 3;
        float[] lambdas = [2f, -0.5f, 3.7f, -1.25f, 0.3f, -4f, 1f, -1f];
        float[] basis = Gaussian(generators, columns, 22);
        int rows = generators + generators * lambdas.Length;
        var x = new float[rows * columns];
        basis.CopyTo(x, 0);
        for (int j = 0; j < generators; j++)
            for (int l = 0; l < lambdas.Length; l++)
                for (int c = 0; c < columns; c++)
                    x[(generators + j * lambdas.Length + l) * columns + c] = lambdas[l] * basis[j * columns + c];
        float[] g = Gaussian(rows, gradientColumns, 23);

        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { GeneratorIndices = [0, 1, 2] });
        var approximate = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);

        double[] bound = AbsoluteProduct(x, rows, columns, g, gradientColumns)
            .Select(s => (columns + rows + generators + 4) * Float32Roundoff * s).ToArray();
        AssertWithin(approximate, Product(x, rows, columns, g, gradientColumns), bound);
    }

    // ε = 0 keeps only the generator rows (random rows are never collinear), so β = b/k and
    // Õ = (b/k)·X[S]ᵀ G[S]; both sides sum the same products in the same ascending order.
    [Test]
    public void Epsilon_zero_is_uniform_column_row_sampling_with_the_b_over_k_scale()
    {
        const int rows = 120, columns = 14, gradientColumns = 10, k = 15;
        float[] x = Gaussian(rows, columns, 24), g = Gaussian(rows, gradientColumns, 25);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = k, Seed = 8, Epsilon = 0 });
        Assert.That(compressed.DroppedRows, Is.EqualTo(rows - k));
        Assert.That(compressed.Beta, Is.EqualTo((double)rows / k));

        int[] sampled = GeneratorSampler.Sample(rows, k, 8);
        float[] xs = sampled.SelectMany(i => x.Skip(i * columns).Take(columns)).ToArray();
        float[] gs = sampled.SelectMany(i => g.Skip(i * gradientColumns).Take(gradientColumns)).ToArray();
        var expected = new float[columns * gradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(xs, k, columns, gs, gradientColumns, expected, ProductLayout.InputByGradient, a: (float)((double)rows / k));

        var approximate = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);
        Assert.That(approximate, Is.EqualTo(expected));
    }

    [Test]
    public void Every_epsilon_of_at_least_one_gives_the_same_product_as_infinity()
    {
        const int rows = 80, columns = 12, gradientColumns = 7;
        float[] x = Clustered(rows, columns, 3, 0.3, 26), g = Gaussian(rows, gradientColumns, 27);
        float[] reference = Approximate(x, rows, columns, g, gradientColumns, new PammOptions { K = 6 });
        foreach (double epsilon in new[] { 1.0, 1.25, 1e30 })
            Assert.That(Bits(Approximate(x, rows, columns, g, gradientColumns, new PammOptions { K = 6, Epsilon = epsilon })), Is.EqualTo(Bits(reference)));
    }

    [Test]
    public void The_relative_error_falls_as_the_ratio_grows_on_clustered_tokens()
    {
        const int rows = 512, columns = 48, gradientColumns = 16;
        double[] ratios = [1.0 / 128, 1.0 / 32, 1.0 / 8, 1.0 / 2, 1.0];
        var errors = new double[ratios.Length];
        var uniformErrors = new double[ratios.Length];
        for (int seed = 0; seed < 3; seed++)
        {
            float[] x = Clustered(rows, columns, 4, 0.2, 100 + seed), g = Gaussian(rows, gradientColumns, 200 + seed);
            double[] exact = Product(x, rows, columns, g, gradientColumns);
            for (int r = 0; r < ratios.Length; r++)
            {
                var options = new PammOptions { Ratio = ratios[r], Seed = (ulong)seed };
                errors[r] += RelativeFrobeniusError(Approximate(x, rows, columns, g, gradientColumns, options), exact) / 3;
                uniformErrors[r] += RelativeFrobeniusError(Approximate(x, rows, columns, g, gradientColumns, options with { Epsilon = 0 }), exact) / 3;
            }
        }
        Assert.That(errors, Is.Ordered.Descending);
        Assert.That(errors.Distinct().Count(), Is.EqualTo(errors.Length), "each step must lower the error");
        Assert.That(errors[^1], Is.LessThan(1e-5));
        // Projection onto the generators is what PAMM adds over plain sampling of k rows.
        for (int r = 0; r < ratios.Length - 1; r++)
            Assert.That(errors[r], Is.LessThan(uniformErrors[r] / 2), $"ratio {ratios[r]}");
    }

    [Test]
    public void Zero_rows_and_a_single_generator_give_the_projected_product()
    {
        const int rows = 60, columns = 11, gradientColumns = 5;
        float[] x = Gaussian(rows, columns, 28), g = Gaussian(rows, gradientColumns, 29);
        foreach (int zero in new[] { 3, 17, 59 }) Array.Clear(x, zero * columns, columns);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 1, Seed = 2 });
        var approximate = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);

        // Õ = C_0ᵀ (Σ_i α_i G_i): one rank-one term, checked in double with the rounding of B̃ (b terms) and α.
        var expected = new double[columns * gradientColumns];
        var bound = new double[columns * gradientColumns];
        for (int c = 0; c < columns; c++)
            for (int col = 0; col < gradientColumns; col++)
            {
                double sum = 0, absolute = 0;
                for (int i = 0; i < rows; i++)
                {
                    double term = (double)compressed.Alpha[i] * g[i * gradientColumns + col];
                    sum += term;
                    absolute += Math.Abs(term);
                }
                double generator = compressed.Generators[c];
                expected[c * gradientColumns + col] = generator * sum;
                bound[c * gradientColumns + col] = (rows + 3) * Float32Roundoff * Math.Abs(generator) * absolute;
            }
        AssertWithin(approximate, expected, bound);
        Assert.That(new[] { 3, 17, 59 }.Select(i => compressed.Alpha[i]), Is.All.EqualTo(0f));
    }

    [Test]
    public void A_single_row_gives_the_exact_outer_product()
    {
        float[] x = [1.5f, -2f, 0.25f], g = [4f, -1f];
        var compressed = CpuPamm.Compress<float>(x, 1, 3, new PammOptions());
        var output = new float[6];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, 2, output);
        Assert.That(output, Is.EqualTo(new float[] { 6, -1.5f, -8, 2, 1, -0.25f }));
    }

    [Test]
    public void Rows_without_an_eligible_generator_are_dropped_and_add_nothing()
    {
        float[] x = [0, 0, 3, 4, -1, 1], g = [1, 2, 3, 4, 5, 6];
        var compressed = CpuPamm.Compress<float>(x, 3, 2, new PammOptions { GeneratorIndices = [0], Epsilon = 0.5 });
        Assert.That(compressed.DroppedRows, Is.EqualTo(2));
        Assert.That(compressed.Beta, Is.EqualTo(3.0));
        float[] output = [1, 2, 3, 4];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, 2, output, ProductLayout.InputByGradient, a: 1f, c: 0.5f);
        Assert.That(output, Is.EqualTo(new float[] { 0.5f, 1, 1.5f, 2 }));
    }

    [Test]
    public void The_two_layouts_are_bitwise_transposes()
    {
        const int rows = 90, columns = 33, gradientColumns = 300;
        float[] x = Clustered(rows, columns, 5, 0.1, 30), g = Gaussian(rows, gradientColumns, 31);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 9, Epsilon = 0.4 });
        var inputByGradient = new float[columns * gradientColumns];
        var gradientByInput = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, inputByGradient);
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, gradientByInput, ProductLayout.GradientByInput);
        Assert.That(Bits(gradientByInput), Is.EqualTo(Bits(Transpose(inputByGradient, columns, gradientColumns))));
    }

    // out = a·Õ + c·out is evaluated as (acc·(a·β)) + (old·c); with a a power of two, a·Õ is exact, so the
    // expected value is one float32 addition of a·Õ and c·old.
    [TestCase(ProductLayout.InputByGradient)]
    [TestCase(ProductLayout.GradientByInput)]
    public void Accumulates_into_the_output_and_ignores_it_when_c_is_zero(ProductLayout layout)
    {
        const int rows = 70, columns = 9, gradientColumns = 13;
        float[] x = Gaussian(rows, columns, 32), g = Gaussian(rows, gradientColumns, 33);
        float[] old = Gaussian(columns, gradientColumns, 34);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 7, Epsilon = 0.8 });
        var product = new float[old.Length];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, product, layout);

        var garbage = Enumerable.Repeat(float.NaN, old.Length).ToArray();
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, garbage, layout, a: 1f, c: 0f);
        Assert.That(Bits(garbage), Is.EqualTo(Bits(product)));

        var accumulated = (float[])old.Clone();
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, accumulated, layout, a: 2f, c: 0.75f);
        Assert.That(accumulated, Is.EqualTo(product.Select((p, e) => 2f * p + 0.75f * old[e]).ToArray()));
    }

    // A NaN anywhere in X_i makes every s_ij NaN, so α_i = NaN and the whole of B̃_f(i) is NaN: the
    // approximation is NaN at least wherever the exact product is, and no exception or bad index occurs.
    [Test]
    public void NaN_in_X_reaches_every_element_the_exact_product_makes_NaN()
    {
        const int rows = 40, columns = 6, gradientColumns = 4;
        float[] x = Gaussian(rows, columns, 35), g = Gaussian(rows, gradientColumns, 36);
        x[13 * columns + 2] = float.NaN;
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { GeneratorIndices = [0, 5, 30] });
        var exact = new float[columns * gradientColumns];
        var approximate = new float[columns * gradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, exact);
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);

        Assert.That(exact.Count(float.IsNaN), Is.EqualTo(gradientColumns));
        for (int e = 0; e < exact.Length; e++)
            if (float.IsNaN(exact[e])) Assert.That(float.IsNaN(approximate[e]), $"element {e}");
    }

    // ∞ in G_i enters B̃_f(i) in that column only, so exactly that column of the product becomes non-finite, as in the exact product.
    [Test]
    public void Infinity_in_G_makes_the_same_column_non_finite_as_the_exact_product()
    {
        const int rows = 40, columns = 6, gradientColumns = 4;
        float[] x = Gaussian(rows, columns, 39), g = Gaussian(rows, gradientColumns, 40);
        g[21 * gradientColumns + 1] = float.PositiveInfinity;
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 4, Seed = 3 });
        var exact = new float[columns * gradientColumns];
        var approximate = new float[columns * gradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(x, rows, columns, g, gradientColumns, exact);
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);
        Assert.That(approximate.Select(float.IsFinite), Is.EqualTo(exact.Select(float.IsFinite)));
        Assert.That(exact.Count(float.IsFinite), Is.EqualTo((gradientColumns - 1) * columns));
    }

    [Test]
    public void A_row_of_NaN_makes_the_whole_product_NaN_like_the_exact_one()
    {
        const int rows = 10, columns = 4, gradientColumns = 3;
        float[] x = Gaussian(rows, columns, 37), g = Gaussian(rows, gradientColumns, 38);
        Array.Fill(x, float.NaN, 6 * columns, columns);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 3, Seed = 1 });
        var approximate = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, approximate);
        Assert.That(approximate, Is.All.NaN);
    }

    private static float[] Approximate(float[] x, int rows, int columns, float[] g, int gradientColumns, PammOptions options)
    {
        var compressed = CpuPamm.Compress<float>(x, rows, columns, options);
        var output = new float[columns * gradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, output);
        return output;
    }
}
