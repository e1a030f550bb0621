namespace PammCuda;

/// <summary>
/// How PAMM compresses an activation: how many generators (a ratio, a count or explicit rows),
/// the neighbourhood tolerance ε and the sampling seed. Shared by the CPU and GPU backends.
/// </summary>
public sealed record PammOptions
{
    /// <summary>The paper's setting for LLaMA pre-training: one generator per 512 tokens.</summary>
    public const double DefaultRatio = 1.0 / 512.0;

    /// <summary>Fraction of rows kept as generators, in (0, 1]: <c>k = clamp(round(r·b), 1, b)</c>. Ignored when <see cref="K"/> or <see cref="GeneratorIndices"/> is set.</summary>
    public double Ratio { get; init; } = DefaultRatio;

    /// <summary>Number of generators, in [1, b]; overrides <see cref="Ratio"/>.</summary>
    public int? K { get; init; }

    /// <summary>Neighbourhood tolerance ε ≥ 0: a row is kept iff <c>‖X_i − X̃_i‖ ≤ ε‖X_i‖</c>. +∞ (the default) keeps every row; 0 gives uniform column-row sampling.</summary>
    public double Epsilon { get; init; } = double.PositiveInfinity;

    /// <summary>Seed of the Philox4x32-10 generator that picks the generator rows.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// How the coefficients α are stored: <see cref="DType.Float32"/> (the default, 4 bytes a row) or
    /// <see cref="DType.BFloat16"/> (2 bytes a row: α rounded to nearest-even, about 3 significant digits). Every row is
    /// represented by α_i·C_f(i), so rounding α moves each represented row by at most 2⁻⁸ of itself, along itself.
    /// </summary>
    public DType AlphaType { get; init; } = DType.Float32;

    /// <summary>
    /// Refines the generators after the assignment, beyond the paper's PAMM (default false): each generator C_j becomes the
    /// α-weighted sum of the rows assigned to it, Σ_{f(i)=j} α_i X_i, scaled to C_j's norm (one power-iteration step towards
    /// the principal direction of its rows), and every row's α is fitted to its refined generator again. f, η, β and the
    /// stored size do not change, and neither does the product; the represented rows α_i·C_f(i) move closer to X (never
    /// farther, in the sum of squares, before rounding), so the product's error falls. It costs one more read of X for the
    /// sums and one for the new α. Generator rows are then no longer represented exactly (α = 1 holds only without it).
    /// </summary>
    public bool RefineGenerators { get; init; }

    /// <summary>Explicit generator rows (distinct, each in [0, b)), used in the given order instead of sampling; k is their count.</summary>
    public IReadOnlyList<int>? GeneratorIndices { get; init; }

    /// <summary>Checks the options against an input of <paramref name="rows"/> rows and returns k.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Ratio outside (0, 1], k outside [1, rows], ε negative or NaN, an α type other than float32 or bfloat16, or an index out of range.</exception>
    /// <exception cref="ArgumentException">Repeated explicit indices.</exception>
    public int ResolveK(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (double.IsNaN(Epsilon) || Epsilon < 0)
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "ε must be ≥ 0 (use +∞ to keep every row).");
        if (!CompressedSize.IsAlphaType(AlphaType))
            throw new ArgumentOutOfRangeException(nameof(AlphaType), AlphaType, CompressedSize.AlphaTypes);
        if (GeneratorIndices is { } indices)
        {
            ValidateIndices(indices, rows);
            return indices.Count;
        }
        if (K is int k)
        {
            if (k < 1 || k > rows)
                throw new ArgumentOutOfRangeException(nameof(K), k, $"k must be in [1, {rows}] (the number of rows).");
            return k;
        }
        if (!(Ratio > 0 && Ratio <= 1))
            throw new ArgumentOutOfRangeException(nameof(Ratio), Ratio, "The ratio r must be in (0, 1].");
        return (int)Math.Clamp(Math.Round(Ratio * rows, MidpointRounding.ToEven), 1, rows);
    }

    private static void ValidateIndices(IReadOnlyList<int> indices, int rows)
    {
        if (indices.Count < 1 || indices.Count > rows)
            throw new ArgumentOutOfRangeException(nameof(GeneratorIndices), indices.Count, $"The number of explicit generators must be in [1, {rows}].");
        var seen = new HashSet<int>();
        for (int j = 0; j < indices.Count; j++)
        {
            int index = indices[j];
            if ((uint)index >= (uint)rows)
                throw new ArgumentOutOfRangeException(nameof(GeneratorIndices), index, $"Generator index at position {j} is outside [0, {rows}).");
            if (!seen.Add(index))
                throw new ArgumentException($"Generator index {index} appears more than once.", nameof(GeneratorIndices));
        }
    }
}
