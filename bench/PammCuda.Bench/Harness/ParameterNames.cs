namespace PammCuda.Bench.Harness;

/// <summary>Names of the parameters every benchmark class uses, as BenchmarkDotNet reports them (the fields' names).</summary>
public static class ParameterNames
{
    /// <summary>n = m: columns of X and of G.</summary>
    public const string Width = "Width";

    /// <summary>b: rows (tokens) of X and G.</summary>
    public const string Rows = "Rows";

    /// <summary>r, a <see cref="GeneratorRatio"/>.</summary>
    public const string Ratio = "Ratio";

    /// <summary>Element type of X, G and the output.</summary>
    public const string DType = "DType";
}
