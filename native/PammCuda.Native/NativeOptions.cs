using System.Runtime.InteropServices;

namespace PammCuda.Native;

/// <summary>The <c>pamm_options</c> struct of pamm.h, field for field.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeOptions
{
    public double Ratio;
    public int K;
    public double Epsilon;
    public ulong Seed;
    public int AlphaDType;
    public int RefineGenerators;

    public static NativeOptions Default => new()
    {
        Ratio = PammOptions.DefaultRatio,
        K = 0,
        Epsilon = double.PositiveInfinity,
        Seed = 0,
        AlphaDType = NativeArguments.ToCode(DType.Float32),
        RefineGenerators = 0,
    };

    /// <summary>The options, checked on their own; failures name the C field.</summary>
    public readonly PammOptions ToPammOptions()
    {
        if (K < 0)
            throw new ArgumentOutOfRangeException("options->k", K, $"options->k = {K} must be at least 1, or 0 to use options->ratio.");
        if (K == 0 && !(Ratio > 0 && Ratio <= 1))
            throw new ArgumentOutOfRangeException("options->ratio", Ratio, $"options->ratio = {Ratio} must be in (0, 1] when options->k is 0.");
        if (!(Epsilon >= 0))
            throw new ArgumentOutOfRangeException("options->epsilon", Epsilon, $"options->epsilon = {Epsilon} must be >= 0 (INFINITY keeps every row).");
        if (RefineGenerators is not (0 or 1))
            throw new ArgumentOutOfRangeException("options->refine_generators", RefineGenerators,
                $"options->refine_generators = {RefineGenerators} must be 0 or 1.");
        return new PammOptions
        {
            Ratio = Ratio, K = K == 0 ? null : K, Epsilon = Epsilon, Seed = Seed, AlphaType = AlphaTypeOf(AlphaDType, "options->alpha_dtype"),
            RefineGenerators = RefineGenerators == 1,
        };
    }

    /// <summary>The options for an input of <paramref name="rows"/> rows: also checks k against it.</summary>
    public readonly PammOptions ToPammOptions(int rows)
    {
        CheckK(K, rows);
        return ToPammOptions();
    }

    /// <summary>The α type a pamm_dtype names: float32 or bfloat16; anything else names <paramref name="name"/>.</summary>
    public static DType AlphaTypeOf(int code, string name)
    {
        DType type = NativeArguments.ToDType(code, name);
        if (type is not (DType.Float32 or DType.BFloat16))
            throw new ArgumentOutOfRangeException(name, code, $"{name} = {code} must be PAMM_FLOAT32 or PAMM_BFLOAT16.");
        return type;
    }

    /// <summary>Checks an explicit k (0 = from the ratio) against the rows of an input.</summary>
    public static void CheckK(int k, int rows)
    {
        if (k > rows)
            throw new ArgumentOutOfRangeException("options->k", k, $"options->k = {k} exceeds rows = {rows}: k must be in [1, rows].");
    }
}
