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

    /// <summary>Environment variable naming objcopy (binutils), as in make.</summary>
    public const string ObjcopyVariable = "OBJCOPY";

    /// <summary>Flags of every compile and of the link; part of the cache key.</summary>
    public static readonly IReadOnlyList<string> Flags = ["-std=c++17", "-O2", "-g", "-fPIC", "-pthread"];

    /// <summary>Kernel translation units are compiled with hidden symbols, which are then made local to their object.</summary>
    public const string KernelVisibilityFlag = "-fvisibility=hidden";

    private HostCompiler(string executable, string versionText, string objcopy)
    {
        Executable = executable;
        VersionText = versionText;
        Objcopy = objcopy;
    }

    /// <summary>The objcopy that localises a kernel object's symbols.</summary>
    public string Objcopy { get; }

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
        var executable = FromEnvironment(CompilerVariable, "g++");
        var objcopy = FromEnvironment(ObjcopyVariable, "objcopy");
        if (TryVersion(executable, CompilerVariable, out reason) is not { } version) return null;
        if (TryVersion(objcopy, ObjcopyVariable, out reason) is null) return null;
        return new HostCompiler(executable, version, objcopy);
    }

    private static string FromEnvironment(string variable, string fallback) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : fallback;

    private static string? TryVersion(string executable, string variable, out string reason)
    {
        try
        {
            var (exitCode, output) = Run(executable, ["--version"], workingDirectory: null);
            reason = exitCode == 0 ? "" : $"'{executable} --version' exited with code {exitCode}: {output}";
            return exitCode == 0 ? output : null;
        }
        catch (Win32Exception exception)
        {
            reason = $"'{executable}' could not be started ({exception.Message}); the emulated device needs g++ and binutils (or set ${variable}).";
            return null;
        }
    }

    /// <summary>
    /// Compiles each kernel translation unit on its own and links them with the runtime into the shared library
    /// <paramref name="output"/>. As under NVRTC, where every .cu is compiled alone, a kernel unit's symbols are
    /// its own: they are made local to its object, so two units may define helpers of the same name. Only what
    /// is marked visible (the launch trampolines) is exported.
    /// </summary>
    /// <exception cref="InvalidOperationException">The compiler, objcopy or the linker failed; the message carries the output.</exception>
    public void BuildSharedLibrary(string directory, string forcedInclude, IReadOnlyList<string> kernelUnits, string runtime, string output)
    {
        var objects = kernelUnits.Select(unit => unit + ".o").ToList();
        var compiles = kernelUnits
            .Select((unit, i) => Task.Run(() => Compile(directory, forcedInclude, unit, objects[i], KernelVisibilityFlag)))
            .Append(Task.Run(() => Compile(directory, forcedInclude, runtime, runtime + ".o")))
            .ToArray();
        Task.WhenAll(compiles).GetAwaiter().GetResult();
        foreach (var kernelObject in objects) Check(Objcopy, ["--localize-hidden", kernelObject], directory);
        Check(Executable, [.. Flags, "-shared", .. objects, runtime + ".o", "-o", output], directory);
    }

    private void Compile(string directory, string forcedInclude, string source, string output, params string[] extraFlags) =>
        Check(Executable, [.. Flags, .. extraFlags, "-include", forcedInclude, "-I", directory, "-c", source, "-o", output], directory);

    private static void Check(string executable, List<string> arguments, string directory)
    {
        var (exitCode, log) = Run(executable, arguments, directory);
        if (exitCode != 0)
            throw new InvalidOperationException(
                $"Building the kernels for the emulated device failed ({executable} {string.Join(' ', arguments)} exited with code {exitCode}):\n{log}");
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
