using PammCuda.Cpu;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// The same inputs give bitwise identical results on every run and for every degree of parallelism; the sizes
/// span several row blocks, several column tasks of the segmented reduction and several output tasks.
/// </summary>
public class CpuPammDeterminismTests
{
    private const int Rows = 333, Columns = 71, GradientColumns = 600;

    [Test]
    public void Results_are_bitwise_identical_for_any_thread_count_and_on_repeat()
    {
        float[] x = Clustered(Rows, Columns, 6, 0.3, 60), g = Gaussian(Rows, GradientColumns, 61);
        var options = new PammOptions { Ratio = 0.05, Seed = 21, Epsilon = 0.7 };
        var reference = Run(x, g, options, new ParallelOptions { MaxDegreeOfParallelism = 1 });
        foreach (int threads in new[] { 1, 2, 3, -1 })
        {
            var run = Run(x, g, options, new ParallelOptions { MaxDegreeOfParallelism = threads });
            Assert.That(run.Alpha, Is.EqualTo(reference.Alpha), $"α with {threads} threads");
            Assert.That(run.Assignment, Is.EqualTo(reference.Assignment), $"f with {threads} threads");
            Assert.That(run.Dropped, Is.EqualTo(reference.Dropped), $"η with {threads} threads");
            Assert.That(run.Approximate, Is.EqualTo(reference.Approximate), $"approximate product with {threads} threads");
            Assert.That(run.Exact, Is.EqualTo(reference.Exact), $"exact product with {threads} threads");
        }
    }

    [Test]
    public void Reduced_precision_results_are_bitwise_identical_for_any_thread_count()
    {
        Half[] x = Clustered(Rows, Columns, 6, 0.3, 62).Select(v => (Half)v).ToArray();
        BFloat16[] g = Gaussian(Rows, GradientColumns, 63).Select(v => (BFloat16)v).ToArray();
        var options = new PammOptions { K = 40, Seed = 22 };
        ushort[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
            var compressed = CpuPamm.Compress<Half>(x, Rows, Columns, options, parallel);
            var output = new BFloat16[Columns * GradientColumns];
            CpuPamm.ApproxMatmul<Half, BFloat16, BFloat16>(compressed, g, GradientColumns, output, ProductLayout.GradientByInput, 1f, 0f, parallel);
            ushort[] bits = output.Select(v => v.RawBits).ToArray();
            reference ??= bits;
            Assert.That(bits, Is.EqualTo(reference), $"{threads} threads");
        }
    }

    // The SIMD reductions must not depend on alignment, or one row stored at two addresses could round two ways.
    [Test]
    public void Results_do_not_depend_on_where_the_input_lies_in_memory()
    {
        float[] x = Clustered(Rows, Columns, 6, 0.3, 64), g = Gaussian(Rows, GradientColumns, 65);
        var options = new PammOptions { K = 30, Seed = 23, Epsilon = 0.7 };
        var reference = Run(x, g, options, new ParallelOptions());
        for (int offset = 1; offset < 8; offset++)
        {
            var shifted = new float[x.Length + offset];
            x.CopyTo(shifted, offset);
            var compressed = CpuPamm.Compress<float>(shifted.AsSpan(offset), Rows, Columns, options);
            var approximate = new float[Columns * GradientColumns + offset];
            CpuPamm.ApproxMatmul<float, float, float>(compressed, g, GradientColumns, approximate.AsSpan(offset));
            Assert.That(Bits(compressed.Alpha), Is.EqualTo(reference.Alpha), $"α at offset {offset}");
            Assert.That(Bits(approximate.AsSpan(offset)), Is.EqualTo(reference.Approximate), $"product at offset {offset}");
        }
    }

    private static (int[] Alpha, int[] Assignment, int Dropped, int[] Approximate, int[] Exact) Run(float[] x, float[] g, PammOptions options, ParallelOptions parallel)
    {
        var compressed = CpuPamm.Compress<float>(x, Rows, Columns, options, parallel);
        var approximate = new float[Columns * GradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(compressed, g, GradientColumns, approximate, ProductLayout.InputByGradient, 1f, 0f, parallel);
        var exact = new float[Columns * GradientColumns];
        CpuPamm.ExactMatmul<float, float, float>(x, Rows, Columns, g, GradientColumns, exact, ProductLayout.InputByGradient, 1f, 0f, parallel);
        return (Bits(compressed.Alpha), Assignments(compressed), compressed.DroppedRows, Bits(approximate), Bits(exact));
    }
}
