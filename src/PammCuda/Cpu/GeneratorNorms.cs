namespace PammCuda.Cpu;

/// <summary>
/// ‖C_j‖² and ‖C_j‖ of every generator in float32, and which generators may be chosen: a generator
/// with ‖C_j‖² = 0 never is (NaN and ∞ norms stay eligible; their scores are NaN or 0 and lose to any real match).
/// </summary>
internal sealed class GeneratorNorms
{
    private GeneratorNorms(float[] squared, float[] norms)
    {
        Squared = squared;
        Norms = norms;
        FirstEligible = Array.FindIndex(squared, value => value != 0f);
        AnyEligible = FirstEligible >= 0;
        if (!AnyEligible) FirstEligible = 0;
    }

    /// <summary>‖C_j‖², a <see cref="VectorDot"/> of the generator with itself.</summary>
    public float[] Squared { get; }

    /// <summary>‖C_j‖ = sqrt(‖C_j‖²), the divisor of the argmax score.</summary>
    public float[] Norms { get; }

    /// <summary>The smallest eligible j, or 0 when none is: the assignment of zero rows and the start of every argmax.</summary>
    public int FirstEligible { get; }

    /// <summary>Whether any generator has a non-zero norm.</summary>
    public bool AnyEligible { get; }

    public bool IsEligible(int generator) => Squared[generator] != 0f;

    /// <summary>The norms of the k generators of <paramref name="generators"/> (k × n row-major float32).</summary>
    public static GeneratorNorms Compute(float[] generators, int k, int columns, ParallelOptions parallelOptions)
    {
        var squared = new float[k];
        var norms = new float[k];
        Parallel.For(0, k, parallelOptions, j =>
        {
            var row = new ReadOnlySpan<float>(generators, j * columns, columns);
            squared[j] = VectorDot.Dot(row, row);
            norms[j] = MathF.Sqrt(squared[j]);
        });
        return new GeneratorNorms(squared, norms);
    }
}
