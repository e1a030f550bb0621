using PammCuda.Cpu;

namespace PammCuda.Tests.Engine;

/// <summary>Inputs and tolerance rules shared by the engine tests.</summary>
internal static class EngineTestData
{
    /// <summary>A row-major matrix of uniform values in [-1, 1), rounded to <typeparamref name="T"/>, reproducible from the seed.</summary>
    public static T[] Random<T>(int rows, int columns, int seed) where T : unmanaged
    {
        var random = new Random(seed);
        var result = new T[(long)rows * columns];
        for (long i = 0; i < result.Length; i++) result[i] = ElementConvert.FromSingle<T>(random.NextSingle() * 2f - 1f);
        return result;
    }

    /// <summary>
    /// Random rows (seed 5) with rows 3 and 10 zero and row 20 NaN, and options that make rows 3 (zero) and
    /// 20 (NaN) generators with ε = 0.7: the zero/NaN cases of the assignment rules in one input.
    /// </summary>
    public static (float[] X, PammOptions Options) ZeroAndNaNRows(int rows, int columns)
    {
        var x = Random<float>(rows, columns, 5);
        for (int q = 0; q < columns; q++)
        {
            x[3 * columns + q] = 0f;
            x[10 * columns + q] = 0f;
            x[20 * columns + q] = float.NaN;
        }
        return (x, new PammOptions { GeneratorIndices = [0, 3, 20, 40], Epsilon = 0.7 });
    }

    /// <summary>Every element widened to double.</summary>
    public static double[] Widen<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = ElementConvert.ToSingle(values[i]);
        return result;
    }

    /// <summary>Unit roundoff of a dtype: half the distance from 1 to the next number.</summary>
    public static double UnitRoundoff(DType dtype) => dtype switch
    {
        DType.Float32 => Math.Pow(2, -24),
        DType.Float16 => Math.Pow(2, -11),
        _ => Math.Pow(2, -8),
    };

    /// <summary>
    /// Asserts that a device product equals the CPU backend's within a bound derived from float32
    /// accumulation: both sum the same terms in different orders, so they differ by at most
    /// (terms per element)·u₃₂·Σ|terms|, plus one rounding of each to the output type.
    /// </summary>
    public static void AssertProductMatchesCpu<T, TOut>(CpuCompressedActivation<T> cpu, double[] gradient, int gradientColumns,
        double[] initialOutput, TOut[] actual, TOut[] expected, ProductLayout layout, float a, float c)
        where T : unmanaged where TOut : unmanaged
    {
        int rows = cpu.Rows, columns = cpu.Columns, k = cpu.K, m = gradientColumns;
        var generators = Widen(cpu.Generators);
        var magnitudeReduced = new double[(long)k * m];
        var groupSize = new int[k];
        for (int i = 0; i < rows; i++)
        {
            int f = cpu.AssignmentOf(i);
            groupSize[f]++;
            double alpha = Math.Abs(cpu.Alpha[i]);
            for (int p = 0; p < m; p++) magnitudeReduced[(long)f * m + p] += alpha * Math.Abs(gradient[(long)i * m + p]);
        }
        double accumulation = 2.0 * (groupSize.Max() + k + 2) * UnitRoundoff(DType.Float32);
        double outputRounding = 2.0 * UnitRoundoff(DTypes.Of<TOut>());
        double scale = Math.Abs(a) * cpu.Beta;
        int mismatches = 0;
        string first = "";
        for (int q = 0; q < columns; q++)
        {
            for (int p = 0; p < m; p++)
            {
                double magnitude = 0;
                for (int j = 0; j < k; j++) magnitude += Math.Abs(generators[(long)j * columns + q]) * magnitudeReduced[(long)j * m + p];
                long index = layout == ProductLayout.InputByGradient ? (long)q * m + p : (long)p * columns + q;
                magnitude = scale * magnitude + Math.Abs(c * initialOutput[index]);
                double got = ElementConvert.ToSingle(actual[index]), want = ElementConvert.ToSingle(expected[index]);
                double tolerance = accumulation * magnitude + outputRounding * Math.Max(Math.Abs(got), Math.Abs(want)) + 1e-30;
                bool same = (double.IsNaN(got) && double.IsNaN(want)) || got == want || Math.Abs(got - want) <= tolerance;
                if (!same && mismatches++ == 0) first = $"element {index}: device {got}, CPU {want}, tolerance {tolerance}";
            }
        }
        Assert.That(mismatches, Is.Zero, $"{mismatches} elements differ beyond tolerance; first: {first}");
    }
}
