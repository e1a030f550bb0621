using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace PammCuda.Cli;

/// <summary>
/// Prints the version of <c>pamm</c> itself. System.CommandLine's own action prints the entry assembly's, which is
/// another program's when <see cref="Program.Run"/> runs inside one (the tests).
/// </summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public static string Version { get; } =
        typeof(VersionAction).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(VersionAction).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    // As System.CommandLine's version action: only a problem with --version itself stops it.
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Version);
        return Program.Success;
    }
}
