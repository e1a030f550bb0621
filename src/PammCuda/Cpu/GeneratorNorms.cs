namespace PammCuda.Cpu;

/// <summary>
/// ‖C_j‖² and ‖C_j‖ of every generator in float32, and which generators may be chosen: a generator
/// with ‖C_j‖² = 0 never is (NaN and ∞ norms stay eligible; their scores are NaN or 0 and lose to any real match).
/// </summary>
internal sealed class GeneratorNorms
{
    /// <summary>The norms of generators whose squared norms are <paramref name="squared"/>.</summary>
    public GeneratorNorms(float[] squared)
    {
        Squared = squared;
        Divisors = new float[squared.Length];
        for (int j = 0; j < squared.Length; j++)
            Divisors[j] = squared[j] != 0f ? MathF.Sqrt(squared[j]) : float.NaN;
        FirstEligible = Array.FindIndex(squared, value => value != 0f);
        AnyEligible = FirstEligible >= 0;
        if (!AnyEligible) FirstEligible = 0;
    }

    /// <summary>
    /// ‖C_j‖², the same fused multiply-add chain as every similarity (<see cref="GemmPanels.SquaredNorms"/>), so a row
    /// equal to C_j gets α = 1 exactly.
    /// </summary>
    public float[] Squared { get; }

    /// <summary>
    /// The divisor of the argmax score |s_ij| / ‖C_j‖: ‖C_j‖ = sqrt(‖C_j‖²), or NaN for an ineligible generator, whose
    /// score is then NaN and never wins (<see cref="SimilarityArgMax"/>).
    /// </summary>
    public float[] Divisors { get; }

    /// <summary>The smallest eligible j, or 0 when none is: the assignment of zero rows and rows without a real score.</summary>
    public int FirstEligible { get; }

    /// <summary>Whether any generator has a non-zero norm.</summary>
    public bool AnyEligible { get; }

    /// <summary>The norms of the generators packed in <paramref name="panels"/>.</summary>
    public static GeneratorNorms Of(GemmPanels panels)
    {
        var squared = new float[panels.Columns];
        panels.SquaredNorms(squared);
        return new GeneratorNorms(squared);
    }
}
