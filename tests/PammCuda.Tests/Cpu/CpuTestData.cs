namespace PammCuda.Tests.Cpu;

/// <summary>Deterministic test matrices and double-precision references for the CPU backend tests.</summary>
internal static class CpuTestData
{
    /// <summary>Unit roundoff of float32, u = 2⁻²⁴ (half the machine epsilon).</summary>
    public const double Float32Roundoff = 1.0 / (1 << 24);

    /// <summary>Unit roundoff of float16, 2⁻¹¹.</summary>
    public const double HalfRoundoff = 1.0 / (1 << 11);

    /// <summary>Unit roundoff of bfloat16, 2⁻⁸.</summary>
    public const double BFloat16Roundoff = 1.0 / (1 << 8);

    /// <summary>
    /// Generator refinement's worked example, 7 rows of 3 columns, with generators rows 0 and 4. Group 0: rows 0–2 (α 1, 1, 1),
    /// row 3, orthogonal to every generator (α 0), and the zero row 5 (α 0); so D_0 = [15, 20, 0], at C_0's norm 5:
    /// [3, 4, 0], and α = 15/25 and 55/25. Group 1: rows 4 and 6 (α 1, −2): D_1 = [0, 0, 10], at C_1's norm 2: C_1 itself.
    /// Every sum, norm, scale and quotient is exact in float32, and every value in float16 and bfloat16 too.
    /// </summary>
    public static readonly float[] RefinementExample =
    [
        5, 0, 0,
        5, 10, 0,
        5, 10, 0,
        0, 1, 0,
        0, 0, 2,
        0, 0, 0,
        0, 0, -4,
    ];

    /// <summary>The options of <see cref="RefinementExample"/>: generators rows 0 and 4, refined.</summary>
    public static readonly PammOptions RefinementExampleOptions = new() { GeneratorIndices = [0, 4], RefineGenerators = true };

    /// <summary>The refined generators of <see cref="RefinementExample"/>.</summary>
    public static readonly float[] RefinementExampleGenerators = [3, 4, 0, 0, 0, 2];

    /// <summary>The refined α of <see cref="RefinementExample"/> (float32 divisions; rows with α = 0 keep it).</summary>
    public static readonly float[] RefinementExampleAlpha = [15f / 25f, 55f / 25f, 55f / 25f, 0f, 1f, 0f, -2f];

    public static float[] Gaussian(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var values = new float[rows * columns];
        for (int i = 0; i < values.Length; i++) values[i] = (float)NextGaussian(random);
        return values;
    }

    /// <summary>
    /// Tokens drawn around a few directions: row i = s_i·(d_{c(i)} + noise·z_i) with a random sign and
    /// |s_i| ∈ [0.5, 2], the structure PAMM is built for (activations of one layer cluster on few lines).
    /// </summary>
    public static float[] Clustered(int rows, int columns, int directions, double noise, int seed)
    {
        var random = new Random(seed);
        var centres = new double[directions, columns];
        for (int d = 0; d < directions; d++)
            for (int c = 0; c < columns; c++) centres[d, c] = NextGaussian(random);
        var values = new float[rows * columns];
        for (int i = 0; i < rows; i++)
        {
            int d = random.Next(directions);
            double scale = (random.Next(2) == 0 ? -1 : 1) * (0.5 + 1.5 * random.NextDouble());
            for (int c = 0; c < columns; c++)
                values[i * columns + c] = (float)(scale * (centres[d, c] + noise * NextGaussian(random)));
        }
        return values;
    }

    /// <summary>Xᵀ G in double, n × m.</summary>
    public static double[] Product(float[] x, int rows, int columns, float[] g, int gradientColumns) =>
        ProductOf(x, rows, columns, g, gradientColumns, (a, b) => a * b);

    /// <summary>Σ_i |X_ic|·|G_i,col| in double: the scale of the rounding error of any float32 evaluation of Xᵀ G.</summary>
    public static double[] AbsoluteProduct(float[] x, int rows, int columns, float[] g, int gradientColumns) =>
        ProductOf(x, rows, columns, g, gradientColumns, (a, b) => Math.Abs(a * b));

    public static T[] Transpose<T>(T[] matrix, int rows, int columns)
    {
        var transposed = new T[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) transposed[c * rows + r] = matrix[r * columns + c];
        return transposed;
    }

    public static double RelativeFrobeniusError(float[] approximate, double[] exact)
    {
        double error = 0, norm = 0;
        for (int e = 0; e < exact.Length; e++)
        {
            error += (approximate[e] - exact[e]) * (approximate[e] - exact[e]);
            norm += exact[e] * exact[e];
        }
        return Math.Sqrt(error / norm);
    }

    /// <summary>Asserts |actual − expected| ≤ bound element by element, naming the first element outside.</summary>
    public static void AssertWithin(ReadOnlySpan<float> actual, double[] expected, double[] bound)
    {
        for (int e = 0; e < expected.Length; e++)
        {
            if (!(Math.Abs(actual[e] - expected[e]) <= bound[e]))
                Assert.Fail($"Element {e}: {actual[e]} vs {expected[e]}, allowed ±{bound[e]:G3}.");
        }
    }

    public static int[] Bits(ReadOnlySpan<float> values)
    {
        var bits = new int[values.Length];
        for (int i = 0; i < values.Length; i++) bits[i] = BitConverter.SingleToInt32Bits(values[i]);
        return bits;
    }

    public static int[] Assignments<T>(PammCuda.Cpu.CpuCompressedActivation<T> compressed) where T : unmanaged
    {
        var assignments = new int[compressed.Rows];
        for (int i = 0; i < assignments.Length; i++) assignments[i] = compressed.AssignmentOf(i);
        return assignments;
    }

    public static double NextGaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double[] ProductOf(float[] x, int rows, int columns, float[] g, int gradientColumns, Func<double, double, double> term)
    {
        var product = new double[columns * gradientColumns];
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < columns; c++)
                for (int col = 0; col < gradientColumns; col++)
                    product[c * gradientColumns + col] += term(x[i * columns + c], g[i * gradientColumns + col]);
        return product;
    }
}
