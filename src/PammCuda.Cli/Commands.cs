namespace PammCuda.Cli;

/// <summary>The commands of <c>pamm</c>, their options and the help that explains them.</summary>
internal static class Commands
{
    public static readonly IReadOnlyList<OptionSpec> CommonOptions =
    [
        new("--ratio", "R", "fraction of the rows kept as generators, in (0, 1]: k = round(R * rows), at least 1; 1/512 is the paper's setting", "1/512"),
        new("--k", "K", "number of generators, in [1, rows]; use instead of --ratio"),
        new("--epsilon", "E", "neighbourhood tolerance >= 0: row i is kept only if ||X_i - a_i C_f(i)|| <= E ||X_i||, dropped rows are compensated by beta = b / (b - dropped); inf keeps every row, 0 gives uniform column-row sampling", "inf"),
        new("--seed", "S", "seed of the Philox4x32-10 sampling of generator rows (and of generated data)", "0"),
        new("--layout", "L", "in-by-grad: O = X^T G (n x m); grad-by-in: O^T = G^T X (m x n, the [out, in] layout of a weight gradient)", "in-by-grad"),
        new("--device", "D", "auto, cpu, gpu or emulated: auto takes the GPU when CUDA finds a usable one and the CPU otherwise; gpu runs the GPU engine on the first CUDA GPU and fails (exit 1, with the reason) without one; emulated runs the same engine and kernels on the CPU, compiled by the system C++ compiler (slow; it checks the kernels where there is no GPU)", "auto"),
        new("--repeat", "N", "run each timed step N times and report the fastest (the first run includes JIT compilation and, on a device, compiling or loading the kernels)", "1"),
    ];

    public static readonly CommandSpec Demo = new(
        "demo",
        "pamm demo [options]",
        "Runs PAMM end to end on generated activations and compares it with the exact product.",
        """
        The generated X imitates the hidden states that feed Q/K/V projections: every token (row) lies
        near one of a few random unit directions, chosen uniformly, times a per-token scale
        exp(0.5 z) with a random sign (z standard normal), plus isotropic Gaussian noise whose norm is
        about --noise times the direction's. G, the output gradient, is standard Gaussian with
        --grad-cols columns. Both come from --seed, so a run is reproducible.
        """,
        [
            new("--rows", "B", "tokens: rows of X and of G", "16384"),
            new("--cols", "N", "features: columns of X", "768"),
            new("--grad-cols", "M", "columns of G (outputs of the projection)", "768"),
            new("--directions", "D", "number of directions the tokens gather around", "8"),
            new("--noise", "S", "relative size of each token's noise, >= 0 (0 puts every token exactly on a direction)", "0.1"),
            .. CommonOptions,
        ]);

    public static readonly CommandSpec Run = new(
        "run",
        "pamm run --x X.npy [--g G.npy] [options]",
        "Runs PAMM on your activation matrix X and compares it with the exact product.",
        """
        X and G are .npy files (numpy.save) holding 2-D float32 or float16 matrices in C order, one row
        per token; G must have as many rows as X. Without --g, G is standard Gaussian with --grad-cols
        columns, drawn from --seed.
        """,
        [
            new("--x", "FILE", "the activation X (b x n): a 2-D float32 or float16 .npy file"),
            new("--g", "FILE", "the output gradient G (b x m), same format; optional"),
            new("--grad-cols", "M", "columns of the Gaussian G used when --g is not given", "768"),
            .. CommonOptions,
        ]);

    public static readonly IReadOnlyList<CommandSpec> All = [Demo, Run];

    public static string GlobalHelp()
    {
        int column = All.Max(c => c.Synopsis.Length) + 4;
        string commands = string.Concat(All.Select(c => CommandLine.Entry(c.Synopsis, c.Summary, column)));
        return $"""
            pamm: Point-Approximate Matrix Multiplication (PAMM) from the command line.

            PAMM keeps, instead of a linear layer's input X (b x n), k of its rows as generators C plus,
            for every row, the generator it is closest to in angle and one coefficient; from these it
            approximates the weight-gradient product X^T G. Each command prints the backend and device,
            the shapes, k, the dense and stored bytes with their ratio, the relative Frobenius error
            ||O~ - X^T G||_F / ||X^T G||_F against the exact product, and the time of compression, of the
            approximate product and of the exact product. On a GPU or the emulated device the times are
            device time between stream events; X and G are uploaded and the products downloaded untimed.

            Commands:
            {commands}
            Options of both commands ('pamm <command> --help' lists each command's own as well):
            {CommandLine.DescribeOptions(CommonOptions)}
            Exit codes: 0 done, 1 failed (for example an unreadable or malformed file, or --device gpu
            without a usable GPU), 2 bad command line.

            """;
    }
}
