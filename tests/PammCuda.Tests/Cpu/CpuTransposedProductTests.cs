using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// The product kernel out = alpha·AᵀB + beta·out against its scalar definition: every element summed as
/// acc = A[i,row]·B[i,col] + acc (a multiply and an add, each rounded) over ascending i from +0, then
/// (acc·alpha) + (old·beta), bit for bit at every vector width. Sizes 1..70 cross every tile edge (8, 6, 4, 2 rows;
/// 32, 16, 8, 4 columns); reductions around 256 and 512 cross the slice boundaries.
/// </summary>
public class CpuTransposedProductTests
{
    private const int Reduction = 23, P = 29, Q = 37;

    private static IEnumerable<int> Sizes => Enumerable.Range(1, 70);

    private static IEnumerable<GemmWidth> AcceleratedWidths => Enum.GetValues<GemmWidth>().Where(GemmWidths.IsAccelerated);

    [TestCaseSource(nameof(Sizes))]
    public void Every_size_in_every_dimension_is_the_scalar_sum_bitwise_at_every_width(int size)
    {
        foreach (var (reduction, p, q) in new[] { (size, P, Q), (Reduction, size, Q), (Reduction, P, size) })
            AssertScalar(reduction, p, q, size);
    }

    [TestCase(255)]
    [TestCase(256)]
    [TestCase(257)]
    [TestCase(600)]
    public void Reductions_across_slices_continue_each_sum_in_order(int reduction) => AssertScalar(reduction, 19, 45, reduction);

    [Test]
    public void Results_are_bitwise_identical_for_any_thread_count()
    {
        const int reduction = 700, p = 300, q = 90;
        float[] a = Gaussian(reduction, p, 7), b = Gaussian(reduction, q, 8);
        int[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3, -1 })
        {
            var output = new float[p * q];
            Run(a, b, reduction, p, q, output, 1f, 0f, GemmWidths.Best, threads);
            reference ??= Bits(output);
            Assert.That(Bits(output), Is.EqualTo(reference), $"{threads} threads");
        }
    }

    private static void AssertScalar(int reduction, int p, int q, int seed)
    {
        float[] a = Gaussian(reduction, p, 100 + seed), b = Gaussian(reduction, q, 200 + seed), old = Gaussian(p, q, 300 + seed);
        const float alpha = 0.75f, beta = -1.5f;
        int[] expected = Bits(Scalar(a, b, reduction, p, q, old, alpha, beta));
        foreach (var width in AcceleratedWidths)
        {
            var output = (float[])old.Clone();
            Run(a, b, reduction, p, q, output, alpha, beta, width, -1);
            Assert.That(Bits(output), Is.EqualTo(expected), $"{reduction} × {p} × {q}, {width}");
        }
    }

    private static unsafe void Run(float[] a, float[] b, int reduction, int p, int q, float[] output, float alpha, float beta, GemmWidth width, int threads)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* po = output)
            CpuTransposedProduct.Run(pa, pb, reduction, p, q, po, alpha, beta, new ParallelOptions { MaxDegreeOfParallelism = threads }, width);
    }

    private static float[] Scalar(float[] a, float[] b, int reduction, int p, int q, float[] old, float alpha, float beta)
    {
        var result = new float[p * q];
        for (int row = 0; row < p; row++)
            for (int column = 0; column < q; column++)
            {
                float sum = 0f;
                for (int i = 0; i < reduction; i++)
                {
                    float product = a[i * p + row] * b[i * q + column];
                    sum = product + sum;
                }
                float scaledOld = old[row * q + column] * beta;
                result[row * q + column] = sum * alpha + scaledOld;
            }
        return result;
    }
}
