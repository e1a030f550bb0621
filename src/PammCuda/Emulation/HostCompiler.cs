using System.ComponentModel;
using System.Diagnostics;

namespace PammCuda.Emulation;

/// <summary>
/// The system C++ compiler (<c>$CXX</c>, else <c>g++</c>) that builds the kernels for the host.
/// </summary>
internal sealed class HostCompiler
{
    /// <summary>Environment variable naming the compiler, as in make.</summary>
    public const string CompilerVariable = "CXX";

    /// <summary>Everything passed besides the file names; part of the cache key.</summary>
    public static readonly IReadOnlyList<string> Flags = ["-std=c++17", "-O2", "-g", "-fPIC", "-shared", "-pthread"];

    private HostCompiler(string executable, string versionText)
    {
        Executable = executable;
        VersionText = versionText;
    }

    /// <summary>The command that runs the compiler.</summary>
    public string Executable { get; }

    /// <summary>The whole output of <c>--version</c> (it goes into the cache key).</summary>
    public string VersionText { get; }

    /// <summary>Short form for device names, e.g. "g++ 12.2.0".</summary>
    public string ShortName
    {
        get
        {
            var firstLine = VersionText.Split('\n')[0].Trim();
            var version = firstLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            return $"{Path.GetFileName(Executable)} {version}".Trim();
        }
    }

    /// <summary>Finds the compiler, or returns null and says why.</summary>
    public static HostCompiler? TryFind(out string reason)
    {
        var executable = Environment.GetEnvironmentVariable(CompilerVariable);
        if (string.IsNullOrWhiteSpace(executable)) executable = "g++";
        try
        {
            var (exitCode, output) = Run(executable, ["--version"], workingDirectory: null);
            if (exitCode == 0 && output.Length > 0)
            {
                reason = "";
                return new HostCompiler(executable, output);
            }
            reason = $"'{executable} --version' exited with code {exitCode}: {output}";
        }
        catch (Win32Exception exception)
        {
            reason = $"No C++ compiler: '{executable}' could not be started ({exception.Message}). Install g++ or set ${CompilerVariable}.";
        }
        return null;
    }

    /// <summary>Compiles <paramref name="sources"/> into the shared library <paramref name="output"/>.</summary>
    /// <exception cref="InvalidOperationException">The compiler failed; the message carries its output.</exception>
    public void CompileSharedLibrary(string workingDirectory, string forcedInclude, IEnumerable<string> sources, string output)
    {
        List<string> arguments = [.. Flags, "-include", forcedInclude, "-I", workingDirectory, .. sources, "-o", output];
        var (exitCode, log) = Run(Executable, arguments, workingDirectory);
        if (exitCode != 0)
            throw new InvalidOperationException(
                $"Compiling the kernels for the emulated device failed ({Executable} exited with code {exitCode}):\n{log}");
    }

    private static (int ExitCode, string Output) Run(string executable, IEnumerable<string> arguments, string? workingDirectory)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        // Both pipes are drained concurrently: a compiler that fills one while we block on the other would hang.
        var standardError = process.StandardError.ReadToEndAsync();
        var standardOutput = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (standardOutput + standardError.GetAwaiter().GetResult()).Trim());
    }
}
