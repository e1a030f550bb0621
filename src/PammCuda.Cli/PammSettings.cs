namespace PammCuda.Cli;

/// <summary>The options both commands share, checked and typed.</summary>
internal sealed record PammSettings(double Ratio, int? K, double Epsilon, ulong Seed, ProductLayout Layout, DeviceChoice Device, int Repeat)
{
    private static readonly Dictionary<string, ProductLayout> Layouts = new(StringComparer.Ordinal)
    {
        ["in-by-grad"] = ProductLayout.InputByGradient,
        ["grad-by-in"] = ProductLayout.GradientByInput,
    };

    private static readonly Dictionary<string, DeviceChoice> Devices = new(StringComparer.Ordinal)
    {
        ["auto"] = DeviceChoice.Auto,
        ["cpu"] = DeviceChoice.Cpu,
        ["gpu"] = DeviceChoice.Gpu,
        ["emulated"] = DeviceChoice.Emulated,
    };

    public static PammSettings From(ParsedCommand command)
    {
        if (command.IsGiven("--k") && command.IsGiven("--ratio"))
            throw new UsageException("give --k or --ratio, not both");
        return new PammSettings(
            command.Number("--ratio", r => r > 0 && r <= 1, "in (0, 1]"),
            command.OptionalInteger("--k", minimum: 1),
            command.Number("--epsilon", e => e >= 0, ">= 0 (or inf)"),
            command.UnsignedInteger("--seed"),
            command.Choice("--layout", Layouts),
            command.Choice("--device", Devices),
            command.Integer("--repeat", minimum: 1));
    }

    public static string LayoutName(ProductLayout layout) => Layouts.First(pair => pair.Value == layout).Key;

    /// <summary>The library options for an input of <paramref name="rows"/> rows; a --k larger than that is a usage error.</summary>
    public PammOptions OptionsFor(int rows)
    {
        if (K > rows)
            throw new UsageException($"--k must be in [1, {rows}] (the rows of X), got {K}");
        return new PammOptions { Ratio = Ratio, K = K, Epsilon = Epsilon, Seed = Seed };
    }
}
