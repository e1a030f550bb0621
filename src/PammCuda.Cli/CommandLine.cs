using System.Globalization;
using System.Text;

namespace PammCuda.Cli;

/// <summary>An option <c>--name VALUE</c> (or <c>--name=VALUE</c>); <paramref name="Default"/> is used when it is not given.</summary>
internal sealed record OptionSpec(string Name, string ValueName, string Description, string? Default = null);

/// <summary>A subcommand: its name, a one-line summary, a longer explanation and the options it accepts.</summary>
internal sealed record CommandSpec(string Name, string Synopsis, string Summary, string Details, IReadOnlyList<OptionSpec> Options);

/// <summary>
/// A minimal parser for <c>pamm COMMAND [--option VALUE]...</c>: every option takes exactly one value,
/// <c>--help</c>/<c>-h</c> may appear anywhere, and anything unknown, repeated or missing its value is a
/// <see cref="UsageException"/> that names it.
/// </summary>
internal static class CommandLine
{
    public static bool IsHelp(string argument) => argument is "--help" or "-h";

    public static ParsedCommand Parse(IReadOnlyList<string> args, IReadOnlyList<CommandSpec> commands)
    {
        if (args.Count == 0)
            throw new UsageException("no command given (try 'pamm --help')");
        CommandSpec command = commands.FirstOrDefault(c => c.Name == args[0])
            ?? throw new UsageException($"unknown command '{args[0]}' (commands: {string.Join(", ", commands.Select(c => c.Name))}; try 'pamm --help')");

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        bool help = false;
        for (int i = 1; i < args.Count; i++)
        {
            string argument = args[i];
            if (IsHelp(argument))
            {
                help = true;
                continue;
            }
            if (!argument.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"unexpected argument '{argument}' for 'pamm {command.Name}' (options start with --; try 'pamm {command.Name} --help')");

            int equals = argument.IndexOf('=', StringComparison.Ordinal);
            string name = equals < 0 ? argument : argument[..equals];
            OptionSpec option = command.Options.FirstOrDefault(o => o.Name == name)
                ?? throw new UsageException($"unknown option '{name}' for 'pamm {command.Name}' (try 'pamm {command.Name} --help')");
            string value;
            if (equals >= 0)
                value = argument[(equals + 1)..];
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                value = args[++i];
            else
                throw new UsageException($"option {name} needs a value ({name} {option.ValueName})");
            if (!values.TryAdd(name, value))
                throw new UsageException($"option {name} is given more than once");
        }
        return new ParsedCommand(command, help, values);
    }

    /// <summary>Help for one command: synopsis, explanation and every option with its default.</summary>
    public static string Help(CommandSpec command) =>
        $"Usage: {command.Synopsis}\n\n{command.Summary}\n\n{command.Details}\n\nOptions:\n{DescribeOptions(command.Options)}{Entry("--help, -h", "show this help", OptionColumn(command.Options))}";

    /// <summary>One entry per option, its description wrapped beside it.</summary>
    public static string DescribeOptions(IReadOnlyList<OptionSpec> options)
    {
        int column = OptionColumn(options);
        return string.Concat(options.Select(o =>
            Entry($"{o.Name} {o.ValueName}", o.Default is null ? o.Description : $"{o.Description} [default: {o.Default}]", column)));
    }

    /// <summary>An indented term with its description wrapped at <see cref="LineWidth"/> columns.</summary>
    public static string Entry(string term, string description, int column)
    {
        var text = new StringBuilder("  ").Append(term.PadRight(column - 2));
        int lineStart = 0;
        foreach (string word in description.Split(' '))
        {
            if (text.Length - lineStart + 1 + word.Length > LineWidth && text.Length - lineStart > column)
            {
                text.Append('\n');
                lineStart = text.Length;
                text.Append(' ', column);
            }
            else if (text.Length - lineStart > column)
            {
                text.Append(' ');
            }
            text.Append(word);
        }
        return text.Append('\n').ToString();
    }

    public const int LineWidth = 100;

    private static int OptionColumn(IReadOnlyList<OptionSpec> options) =>
        Math.Max("--help, -h".Length, options.Max(o => o.Name.Length + 1 + o.ValueName.Length)) + 4;
}

/// <summary>The command and option values of one command line, with typed access that reports bad values by option name.</summary>
internal sealed class ParsedCommand(CommandSpec command, bool helpRequested, IReadOnlyDictionary<string, string> values)
{
    public CommandSpec Command { get; } = command;

    public bool HelpRequested { get; } = helpRequested;

    /// <summary>Whether the option was given on the command line (a default does not count).</summary>
    public bool IsGiven(string name) => values.ContainsKey(Spec(name).Name);

    /// <summary>The value given, else the default, else null.</summary>
    public string? Text(string name) => values.TryGetValue(Spec(name).Name, out string? value) ? value : Spec(name).Default;

    public int Integer(string name, int minimum, int maximum = int.MaxValue) =>
        OptionalInteger(name, minimum, maximum) ?? throw new UsageException($"option {name} is required");

    public int? OptionalInteger(string name, int minimum, int maximum = int.MaxValue)
    {
        if (Text(name) is not string text) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < minimum || value > maximum)
            throw new UsageException($"{name} must be an integer in [{minimum}, {maximum}], got '{text}'");
        return value;
    }

    public ulong UnsignedInteger(string name)
    {
        string text = Text(name) ?? throw new UsageException($"option {name} is required");
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            throw new UsageException($"{name} must be an integer in [0, {ulong.MaxValue}], got '{text}'");
        return value;
    }

    /// <summary>A real number (also <c>inf</c>, or a fraction like <c>1/512</c>) for which <paramref name="isValid"/> holds.</summary>
    public double Number(string name, Func<double, bool> isValid, string requirement)
    {
        string text = Text(name) ?? throw new UsageException($"option {name} is required");
        if (!TryParseNumber(text, out double value) || !isValid(value))
            throw new UsageException($"{name} must be {requirement}, got '{text}'");
        return value;
    }

    public T Choice<T>(string name, IReadOnlyDictionary<string, T> choices)
    {
        string text = Text(name) ?? throw new UsageException($"option {name} is required");
        return choices.TryGetValue(text, out T? value)
            ? value
            : throw new UsageException($"{name} must be one of {string.Join(", ", choices.Keys)}, got '{text}'");
    }

    private static bool TryParseNumber(string text, out double value)
    {
        if (text.Equals("inf", StringComparison.OrdinalIgnoreCase) || text.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = double.PositiveInfinity;
            return true;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        bool parsed = double.TryParse(text.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out double numerator)
            & double.TryParse(text.AsSpan(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double denominator);
        value = numerator / denominator;
        return parsed;
    }

    // Asking for an option the command does not declare is a bug in this program, not a usage error.
    private OptionSpec Spec(string name) => Command.Options.FirstOrDefault(o => o.Name == name)
        ?? throw new InvalidOperationException($"'pamm {Command.Name}' declares no option {name}.");
}
