namespace PammCuda.Bench.Harness;

/// <summary>
/// The program's command line: <c>[gpu|cpu|memory-table|all] [--quick] [--filter F]… [--device cuda|emulated] [--queue N] [--results DIR]</c>;
/// every other argument goes to BenchmarkDotNet unchanged.
/// </summary>
public sealed record BenchCommandLine
{
    /// <summary>How to call the program, printed on a bad command line.</summary>
    public const string Usage =
        "usage: PammCuda.Bench [gpu|cpu|memory-table|all] [--quick] [--filter <BenchmarkDotNet filter>]... " +
        "[--device cuda|emulated] [--queue <invocations a timed span>] [--results <dir>] [other BenchmarkDotNet arguments]";

    /// <summary>The suite to run.</summary>
    public required Suite Suite { get; init; }

    /// <summary>A small subset of shapes, for smoke runs.</summary>
    public bool Quick { get; init; }

    /// <summary>
    /// BenchmarkDotNet's <c>--filter</c> globs, one per <c>--filter</c> option: a benchmark runs when it matches any of
    /// them; every benchmark of the suite when there is none.
    /// </summary>
    public IReadOnlyList<string> Filters { get; init; } = [];

    /// <summary>The device of the GPU suite.</summary>
    public GpuSuiteDevice Device { get; init; } = GpuSuiteDevice.Cuda;

    /// <summary>
    /// GPU suite: invocations queued back to back between the two events of one timed span (<see cref="Gpu.DeviceTimer"/>):
    /// 1 times each operation alone, the host waiting for it; more time the device's own cost with the host's launch gaps
    /// hidden, as when a training loop runs ahead of the device.
    /// </summary>
    public int Queue { get; init; } = 1;

    /// <summary>Where result files go; null for <c>bench/results</c> of the repository the program runs in.</summary>
    public string? ResultsDirectory { get; init; }

    /// <summary>Arguments passed to BenchmarkDotNet as they are.</summary>
    public IReadOnlyList<string> BenchmarkDotNetArguments { get; init; } = [];

    /// <summary>The arguments as given, for the header of result files.</summary>
    public required IReadOnlyList<string> RawArguments { get; init; }

    /// <summary>Parses <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An unknown suite or device, an option without its value, or a <c>--queue</c> that is no whole number from 1 to 1000.</exception>
    public static BenchCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || args[0].StartsWith('-'))
            throw new ArgumentException($"No suite given.\n{Usage}", nameof(args));
        var suite = ParseSuite(args[0]);
        bool quick = false;
        var filters = new List<string>();
        string? results = null;
        var device = GpuSuiteDevice.Cuda;
        int queue = 1;
        var passThrough = new List<string>();
        for (int i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--filter":
                    filters.Add(ValueOf(args, ref i));
                    break;
                case "--device":
                    device = ParseDevice(ValueOf(args, ref i));
                    break;
                case "--queue":
                    queue = ParseQueue(ValueOf(args, ref i));
                    break;
                case "--results":
                    results = ValueOf(args, ref i);
                    break;
                default:
                    passThrough.Add(args[i]);
                    break;
            }
        }
        if (queue != 1 && suite is not (Suite.Gpu or Suite.All))
            throw new ArgumentException($"--queue times the GPU suite; the {args[0]} suite has no device to queue on.\n{Usage}", "queue");
        return new BenchCommandLine
        {
            Suite = suite,
            Quick = quick,
            Filters = filters,
            Device = device,
            Queue = queue,
            ResultsDirectory = results,
            BenchmarkDotNetArguments = passThrough,
            RawArguments = [.. args],
        };
    }

    private static Suite ParseSuite(string text) => text switch
    {
        "gpu" => Suite.Gpu,
        "cpu" => Suite.Cpu,
        "memory-table" => Suite.MemoryTable,
        "all" => Suite.All,
        _ => throw new ArgumentException($"Unknown suite '{text}'.\n{Usage}", nameof(text)),
    };

    private static GpuSuiteDevice ParseDevice(string text) => text switch
    {
        "cuda" => GpuSuiteDevice.Cuda,
        "emulated" => GpuSuiteDevice.Emulated,
        _ => throw new ArgumentException($"Unknown device '{text}': use cuda or emulated.\n{Usage}", nameof(text)),
    };

    private static int ParseQueue(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int queue) && queue is >= 1 and <= 1000
            ? queue
            : throw new ArgumentException($"--queue takes the invocations a timed span, a whole number from 1 to 1000, not '{text}'.\n{Usage}", "queue");

    private static string ValueOf(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
            throw new ArgumentException($"{args[i]} needs a value.\n{Usage}", nameof(args));
        return args[++i];
    }
}
