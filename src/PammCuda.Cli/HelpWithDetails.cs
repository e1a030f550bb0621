using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace PammCuda.Cli;

/// <summary>
/// System.CommandLine's help followed by the explanation that a command has beyond its description. A command's
/// description is also its line in the root's list of commands, so it stays one sentence; the rest (what the
/// generated data is, what the files hold, the exit codes) goes after the options.
/// </summary>
internal sealed class HelpWithDetails(HelpAction help, IReadOnlyDictionary<Command, string> details) : SynchronousCommandLineAction
{
    // As for HelpAction: 'pamm demo --rows 0 --help' shows the help rather than the bad value.
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        int exitCode = help.Invoke(parseResult);
        if (details.TryGetValue(parseResult.CommandResult.Command, out string? text))
            parseResult.InvocationConfiguration.Output.Write(text);
        return exitCode;
    }
}
