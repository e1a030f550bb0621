using System.CommandLine;

namespace PammCuda.Cli;

/// <summary>The options of both commands: how much PAMM keeps, its seed, the product's layout, the device and the timing.</summary>
internal static class CommonOptions
{
    private static readonly Dictionary<string, ProductLayout> Layouts = new(StringComparer.Ordinal)
    {
        ["in-by-grad"] = ProductLayout.InputByGradient,
        ["grad-by-in"] = ProductLayout.GradientByInput,
    };

    private static readonly Dictionary<string, DType> AlphaTypes = ByShortName(DType.Float32, DType.BFloat16);

    private static readonly Dictionary<string, DeviceChoice> Devices = new(StringComparer.Ordinal)
    {
        ["auto"] = DeviceChoice.Auto,
        ["cpu"] = DeviceChoice.Cpu,
        ["gpu"] = DeviceChoice.Gpu,
        ["emulated"] = DeviceChoice.Emulated,
    };

    public static readonly Option<Written<double>> Ratio = ValueOptions.Number(
        "--ratio", "R",
        "fraction of the rows kept as generators, in (0, 1]: k = round(R * rows), at least 1; 1/512 is the paper's setting",
        "1/512", r => r > 0 && r <= 1, "in (0, 1]");

    public static readonly Option<int?> K = ValueOptions.OptionalInteger(
        "--k", "K", "number of generators, in [1, rows]; use instead of --ratio", minimum: 1);

    public static readonly Option<Written<double>> Epsilon = ValueOptions.Number(
        "--epsilon", "E",
        "neighbourhood tolerance >= 0: row i is kept only if ||X_i - a_i C_f(i)|| <= E ||X_i||, dropped rows are compensated by beta = b / (b - dropped); inf keeps every row, 0 gives uniform column-row sampling",
        "inf", e => e >= 0, ">= 0 (or inf)");

    public static readonly Option<ulong> Seed = ValueOptions.UnsignedInteger(
        "--seed", "S", "seed of the Philox4x32-10 sampling of generator rows (and of generated data)", 0);

    public static readonly Option<Written<DType>> Alpha = ValueOptions.Choice(
        "--alpha", "T",
        "how the coefficients alpha are stored: f32 (4 bytes a row) or bf16 (2 bytes a row, rounded to nearest-even)",
        AlphaTypes, "f32");

    public static readonly Option<bool> Refine = new("--refine")
    {
        Description = "refine the generators after the assignment (beyond the paper's PAMM): each becomes the alpha-weighted sum of its rows at its own norm and alpha is fitted to it again; the same bytes are kept, the error falls, X is read twice more",
    };

    public static readonly Option<Written<ProductLayout>> Layout = ValueOptions.Choice(
        "--layout", "L",
        "in-by-grad: O = X^T G (n x m); grad-by-in: O^T = G^T X (m x n, the [out, in] layout of a weight gradient)",
        Layouts, "in-by-grad");

    public static readonly Option<Written<DeviceChoice>> Device = ValueOptions.Choice(
        "--device", "D",
        "auto, cpu, gpu or emulated: auto takes the GPU when CUDA finds a usable one and the CPU otherwise; gpu runs the GPU engine on the first CUDA GPU and fails (exit 1, with the reason) without one; emulated runs the same engine and kernels on the CPU, compiled by the system C++ compiler (slow; it checks the kernels where there is no GPU)",
        Devices, "auto");

    public static readonly Option<int> Repeat = ValueOptions.Integer(
        "--repeat", "N",
        "run each timed step N times and report the fastest (the first run includes JIT compilation and, on a device, compiling or loading the kernels)",
        1, minimum: 1);

    /// <summary>The choices of a dtype option, each under its short name (<see cref="DTypes.ShortName"/>: f32, f16, bf16).</summary>
    public static Dictionary<string, DType> ByShortName(params DType[] dtypes) =>
        dtypes.ToDictionary(dtype => dtype.ShortName(), StringComparer.Ordinal);

    public static IReadOnlyList<Option> All { get; } = [Ratio, K, Epsilon, Seed, Alpha, Refine, Layout, Device, Repeat];

    /// <summary>How <c>--layout</c> spells <paramref name="layout"/>.</summary>
    public static string LayoutName(ProductLayout layout) => Layouts.First(pair => pair.Value == layout).Key;
}
