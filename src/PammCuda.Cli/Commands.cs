using System.CommandLine;
using System.CommandLine.Help;

namespace PammCuda.Cli;

/// <summary>The <c>pamm</c> command line: the root command, its <c>demo</c> and <c>run</c> commands, and how it is parsed.</summary>
internal static class Commands
{
    /// <summary>The name users type, used in messages whatever the executable is called.</summary>
    public const string ToolName = "pamm";

    /// <summary>Help wraps at this many columns wherever it goes (terminal, pipe or test), so it reads the same everywhere.</summary>
    public const int HelpWidth = 100;

    private const string Description = """
        pamm: Point-Approximate Matrix Multiplication (PAMM) from the command line.

        PAMM keeps, instead of a linear layer's input X (b x n), k of its rows as generators C plus,
        for every row, the generator it is closest to in angle and one coefficient; from these it
        approximates the weight-gradient product X^T G. Each command prints the backend and device,
        the shapes, k, the dense and stored bytes with their ratio, the relative Frobenius error
        ||O~ - X^T G||_F / ||X^T G||_F against the exact product, and the time of compression, of the
        approximate product and of the exact product. On a GPU or the emulated device the times are
        device time between stream events; X and G are uploaded and the products downloaded untimed.
        """;

    private const string Details = """
        --ratio to --repeat are options of both commands; 'pamm demo --help' and 'pamm run --help'
        list each command's own options as well.

        Exit codes: 0 done, 1 failed (for example an unreadable or malformed file, or --device gpu
        without a usable GPU), 2 bad command line.

        """;

    // Every token is taken as written: "@name" is a file name, not a response file to expand.
    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    private static readonly RootCommand Root = CreateRoot();

    public static ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, Configuration);

    private static RootCommand CreateRoot()
    {
        Command demo = DemoCommand.Create(), run = RunCommand.Create();
        var root = new RootCommand(Description) { demo, run };
        // Recursive: each command accepts them (as does the root, before the command's name), and the help of the
        // root and of both commands lists them. They go before --help and --version, which RootCommand adds, so that
        // a command's help lists them before --help.
        for (int i = 0; i < CommonOptions.All.Count; i++)
        {
            CommonOptions.All[i].Recursive = true;
            root.Options.Insert(i, CommonOptions.All[i]);
        }
        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithDetails(
            new HelpAction { MaxWidth = HelpWidth },
            new Dictionary<Command, string> { [root] = Details, [demo] = DemoCommand.Details, [run] = RunCommand.Details });
        root.Options.OfType<VersionOption>().Single().Action = new VersionAction();
        return root;
    }
}
