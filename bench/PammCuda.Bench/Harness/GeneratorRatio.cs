using System.Globalization;

namespace PammCuda.Bench.Harness;

/// <summary>A compression ratio r = 1/<see cref="Denominator"/>, shown as "1/512" in result tables.</summary>
/// <param name="Denominator">d in r = 1/d, at least 1.</param>
public sealed record GeneratorRatio(int Denominator)
{
    /// <summary>r as a number.</summary>
    public double Value => 1.0 / Denominator;

    /// <summary>Options that compress with this ratio and a fixed seed, so that every run picks the same generators.</summary>
    public PammOptions Options => new() { Ratio = Value, Seed = 2026 };

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"1/{Denominator}");
}
