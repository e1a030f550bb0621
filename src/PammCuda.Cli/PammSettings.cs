using System.CommandLine;

namespace PammCuda.Cli;

/// <summary>The values of the <see cref="CommonOptions"/> of one command line.</summary>
internal sealed record PammSettings(double Ratio, int? K, double Epsilon, ulong Seed, DType AlphaType, bool RefineGenerators, ProductLayout Layout,
    DeviceChoice Device, int Repeat)
{
    public static PammSettings From(ParseResult result)
    {
        if (result.IsGiven(CommonOptions.K) && result.IsGiven(CommonOptions.Ratio))
            throw new UsageException("give --k or --ratio, not both");
        return new PammSettings(
            result.GetValue(CommonOptions.Ratio).Value,
            result.GetValue(CommonOptions.K),
            result.GetValue(CommonOptions.Epsilon).Value,
            result.GetValue(CommonOptions.Seed),
            result.GetValue(CommonOptions.Alpha).Value,
            result.GetValue(CommonOptions.Refine),
            result.GetValue(CommonOptions.Layout).Value,
            result.GetValue(CommonOptions.Device).Value,
            result.GetValue(CommonOptions.Repeat));
    }

    /// <summary>The library options for an input of <paramref name="rows"/> rows; a --k larger than that is a usage error.</summary>
    public PammOptions OptionsFor(int rows)
    {
        if (K > rows)
            throw new UsageException($"--k must be in [1, {rows}] (the rows of X), got {K}");
        return new PammOptions { Ratio = Ratio, K = K, Epsilon = Epsilon, Seed = Seed, AlphaType = AlphaType, RefineGenerators = RefineGenerators };
    }
}
