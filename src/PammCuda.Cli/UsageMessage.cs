using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace PammCuda.Cli;

/// <summary>
/// The one line that says what is wrong with a command line that System.CommandLine could not parse. Its own
/// report is every error followed by the whole help; <c>pamm</c> names the first problem (the option, value or word
/// at fault) and where to read more.
/// </summary>
internal static class UsageMessage
{
    public static string Of(ParseResult result)
    {
        if (result.Errors.Count == 0)
            throw new ArgumentException("The command line has no errors.", nameof(result));

        // A value left out comes first: it also leaves the tokens after it unmatched (--k --rows 5 leaves 5).
        foreach (ParseError error in result.Errors)
        {
            if (error.SymbolResult is OptionResult option && ValueOptions.LacksValue(option))
                return ValueOptions.NeedsValue(option.Option);
        }
        if (result.UnmatchedTokens.Count > 0)
            return Unmatched(result.UnmatchedTokens[0], result.CommandResult);
        // The root command has no action and no validators: its one error is that no command was given.
        if (result.Errors.Any(e => e.SymbolResult is CommandResult { Parent: null }))
            return $"no command given (try '{Commands.ToolName} --help')";

        ParseError first = result.Errors[0];
        return first.SymbolResult switch
        {
            OptionResult { IdentifierTokenCount: > 1 } option => ValueOptions.GivenMoreThanOnce(option.Option),
            OptionResult { Implicit: true, Option.Required: true } option => ValueOptions.IsRequired(option.Option),
            // The options' own parsers and validators write one line; anything else is kept to its first.
            _ => first.Message.Split('\n')[0].TrimEnd(),
        };
    }

    private static string Unmatched(string token, CommandResult command)
    {
        string path = CommandPath(command);
        if (token.StartsWith('-') && token.Length > 1 && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            return $"unknown option '{token.Split('=')[0]}' for '{path}' (try '{path} --help')";
        if (command.Parent is null)
            return $"unknown command '{token}' (commands: {string.Join(", ", command.Command.Subcommands.Select(c => c.Name))}; try '{path} --help')";
        return $"unexpected argument '{token}' for '{path}' (options start with --; try '{path} --help')";
    }

    // "pamm demo": the root command is named after the executable, which is the test host inside the tests.
    private static string CommandPath(CommandResult command) => command.Parent is CommandResult parent
        ? $"{CommandPath(parent)} {command.Command.Name}"
        : Commands.ToolName;
}
