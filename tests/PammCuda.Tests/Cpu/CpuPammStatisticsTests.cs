using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

public class CpuPammStatisticsTests
{
    // With ε = 0, PAMM is uniform column-row sampling scaled by b/k, whose expectation over the k-subsets is Xᵀ G.
    // Over N seeds the mean of each element must lie within z·s/√N of the exact value (s: sample standard
    // deviation). z = 5 makes a false alarm over the 6 elements less likely than 1 in 10⁵ for an unbiased
    // sampler; the same bound must reject the estimator without its b/k scale, so the test has the power to fail.
    [Test]
    public void Epsilon_zero_is_unbiased_over_seeds()
    {
        const int rows = 24, columns = 3, gradientColumns = 2, k = 6, seeds = 3000;
        const double z = 5;
        float[] x = Gaussian(rows, columns, 70), g = Gaussian(rows, gradientColumns, 71);
        double[] exact = Product(x, rows, columns, g, gradientColumns);
        var sum = new double[exact.Length];
        var sumOfSquares = new double[exact.Length];
        var output = new float[exact.Length];
        for (int seed = 0; seed < seeds; seed++)
        {
            var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = k, Seed = (ulong)seed, Epsilon = 0 });
            CpuPamm.ApproxMatmul<float, float, float>(compressed, g, gradientColumns, output);
            for (int e = 0; e < output.Length; e++) { sum[e] += output[e]; sumOfSquares[e] += (double)output[e] * output[e]; }
        }

        bool unscaledRejected = false;
        for (int e = 0; e < exact.Length; e++)
        {
            double mean = sum[e] / seeds;
            double deviation = Math.Sqrt((sumOfSquares[e] - seeds * mean * mean) / (seeds - 1));
            double standardError = deviation / Math.Sqrt(seeds);
            Assert.That(deviation, Is.GreaterThan(0), $"element {e} must vary with the seed");
            Assert.That(mean, Is.EqualTo(exact[e]).Within(z * standardError), $"element {e}");
            double scale = (double)k / rows;
            unscaledRejected |= Math.Abs(mean * scale - exact[e]) > z * standardError * scale;
        }
        Assert.That(unscaledRejected, Is.True, "the bound must be tight enough to see a missing b/k scale");
    }
}
