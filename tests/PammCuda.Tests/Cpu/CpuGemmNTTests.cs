using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// The similarity GEMM S = A·Bᵀ against scalar loops. Its contract is stronger than a tolerance: every S_ij is the
/// fused multiply-add chain over ascending p, so it must equal that scalar chain bit for bit at every vector width,
/// depth slice and thread count. The sizes 1..70 run through every tail of every dimension: rows past the 8-, 6-, 4-
/// and 2-row tiles, columns past the 32-, 16-, 8- and 4-wide panels, and depths past every slice boundary tested.
/// </summary>
public class CpuGemmNTTests
{
    private const int Rows = 29, Columns = 37, Depth = 45;

    private static IEnumerable<int> Sizes => Enumerable.Range(1, 70);

    private static IEnumerable<GemmWidth> AcceleratedWidths =>
        Enum.GetValues<GemmWidth>().Where(GemmWidths.IsAccelerated);

    // Slices of 1 and 7 put a slice boundary inside every chain; the default slice covers one block or several.
    private static readonly int[] DepthBlocks = [1, 7, CpuGemmNT.DefaultDepthBlock];

    [TestCaseSource(nameof(Sizes))]
    public void Every_size_in_every_dimension_is_the_scalar_chain_bitwise_at_every_width(int size)
    {
        foreach (var (rows, columns, depth) in new[] { (size, Columns, Depth), (Rows, size, Depth), (Rows, Columns, size) })
        {
            float[] a = Gaussian(rows, depth, 1000 + size), b = Gaussian(columns, depth, 2000 + size);
            int[] expected = Bits(ScalarChain(a, b, rows, columns, depth));
            foreach (var width in AcceleratedWidths)
                foreach (int depthBlock in DepthBlocks)
                {
                    var s = new float[rows * columns];
                    CpuGemmNT.Multiply<float>(a, b, s, rows, columns, depth, new ParallelOptions(), width, depthBlock);
                    Assert.That(Bits(s), Is.EqualTo(expected), $"{rows} × {columns} × {depth}, {width}, depth slice {depthBlock}");
                }
        }
    }

    // Half and bfloat16 widen exactly, so the only rounding is the float32 accumulation: |ŝ − s| ≤ γ_d · Σ|a_p b_p| with
    // γ_d = d·u/(1 − d·u), u = 2⁻²⁴, for every input type; and the result is bitwise the float run on the widened inputs.
    [TestCaseSource(nameof(Sizes))]
    public void Every_depth_is_within_the_float32_accumulation_bound_for_every_input_type(int depth)
    {
        AssertWithinBound<float>(depth);
        AssertWithinBound<Half>(depth);
        AssertWithinBound<BFloat16>(depth);
    }

    [Test]
    public void Results_are_bitwise_identical_for_any_thread_count()
    {
        // 1000 rows are 11 tasks of 96 rows, the last one partial.
        const int rows = 1000, columns = 70, depth = 300;
        float[] a = Gaussian(rows, depth, 3), b = Gaussian(columns, depth, 4);
        int[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3, -1 })
        {
            var s = new float[rows * columns];
            CpuGemmNT.Multiply<float>(a, b, s, rows, columns, depth, new ParallelOptions { MaxDegreeOfParallelism = threads });
            reference ??= Bits(s);
            Assert.That(Bits(s), Is.EqualTo(reference), $"{threads} threads");
        }
        Assert.That(reference, Is.EqualTo(Bits(ScalarChain(a, b, rows, columns, depth))));
    }

    // Catches a depth slice taken out of order or restarted from zero: in float32, 1 + 10⁸ − 10⁸ = 0 but 10⁸ − 10⁸ + 1 = 1.
    [Test]
    public void Sums_run_in_ascending_column_order_across_depth_slices()
    {
        float[] a = [1f, 1e8f, -1e8f, 1e8f, -1e8f, 1f];
        float[] b = [1f, 1f, 1f];
        foreach (var width in AcceleratedWidths)
            foreach (int depthBlock in new[] { 1, 2, 3 })
            {
                var s = new float[2];
                CpuGemmNT.Multiply<float>(a, b, s, 2, 1, 3, new ParallelOptions(), width, depthBlock);
                Assert.That(s, Is.EqualTo(new[] { 0f, 1f }), $"{width}, depth slice {depthBlock}");
            }
    }

    [TestCaseSource(nameof(Sizes))]
    public void Squared_norms_are_the_products_own_chain(int depth)
    {
        const int rows = 19;
        float[] a = Gaussian(rows, depth, 5000 + depth);
        float[] rowNorms = new float[rows], panelNorms = new float[rows];
        unsafe
        {
            fixed (float* pa = a)
            fixed (float* pn = rowNorms)
                CpuGemmNT.SquaredNorms(pa, depth, rows, depth, pn);
        }
        GemmPanels.Pack<float>(a, rows, depth, GemmWidths.Best).SquaredNorms(panelNorms);
        float[] diagonal = [.. Enumerable.Range(0, rows).Select(i => ScalarChain(a, a, rows, rows, depth)[i * rows + i])];
        Assert.That(Bits(rowNorms), Is.EqualTo(Bits(diagonal)));
        Assert.That(Bits(panelNorms), Is.EqualTo(Bits(diagonal)));
    }

    [Test]
    public void Bad_shapes_are_rejected_naming_the_argument()
    {
        var options = new ParallelOptions();
        Assert.Multiple(() =>
        {
            Assert.That(() => CpuGemmNT.Multiply<float>(new float[5], new float[6], new float[4], 2, 2, 3, options),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("a"));
            Assert.That(() => CpuGemmNT.Multiply<float>(new float[6], new float[7], new float[4], 2, 2, 3, options),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("b"));
            Assert.That(() => CpuGemmNT.Multiply<float>(new float[6], new float[6], new float[3], 2, 2, 3, options),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("s"));
            Assert.That(() => CpuGemmNT.Multiply<float>(new float[6], new float[6], new float[4], 0, 2, 3, options),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("rows"));
            Assert.That(() => CpuGemmNT.Multiply<double>(new double[6], new double[6], new float[4], 2, 2, 3, options),
                Throws.InstanceOf<NotSupportedException>());
        });
    }

    private static void AssertWithinBound<T>(int depth) where T : unmanaged
    {
        const int rows = 13, columns = 21;
        T[] a = Narrow<T>(Gaussian(rows, depth, 3000 + depth)), b = Narrow<T>(Gaussian(columns, depth, 4000 + depth));
        float[] aw = Widen(a), bw = Widen(b);
        var s = new float[rows * columns];
        CpuGemmNT.Multiply<T>(a, b, s, rows, columns, depth, new ParallelOptions());
        Assert.That(Bits(s), Is.EqualTo(Bits(ScalarChain(aw, bw, rows, columns, depth))), $"{typeof(T).Name}: the float run on widened inputs");
        double gamma = depth * Float32Roundoff / (1 - depth * Float32Roundoff);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
            {
                double exact = 0, absolute = 0;
                for (int p = 0; p < depth; p++)
                {
                    double term = (double)aw[i * depth + p] * bw[j * depth + p];
                    exact += term;
                    absolute += Math.Abs(term);
                }
                Assert.That(s[i * columns + j], Is.EqualTo(exact).Within(gamma * absolute), $"{typeof(T).Name} S[{i}, {j}], depth {depth}");
            }
    }

    // The definition: acc = fma(a_ip, b_jp, acc) for p = 0, 1, … from +0.
    private static float[] ScalarChain(float[] a, float[] b, int rows, int columns, int depth)
    {
        var s = new float[rows * columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
            {
                float sum = 0f;
                for (int p = 0; p < depth; p++) sum = MathF.FusedMultiplyAdd(a[i * depth + p], b[j * depth + p], sum);
                s[i * columns + j] = sum;
            }
        return s;
    }

    private static T[] Narrow<T>(float[] values) where T : unmanaged => [.. values.Select(ElementConvert.FromSingle<T>)];

    private static float[] Widen<T>(T[] values) where T : unmanaged => [.. values.Select(ElementConvert.ToSingle)];
}
