using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using PammCuda.Devices;

namespace PammCuda.Emulation;

/// <summary>
/// The kernels compiled for the host as one shared library: every <c>*.cu</c> (unchanged, force-including
/// <c>pamm_emu.h</c>) plus the emulation runtime, built once per distinct set of sources and compiler,
/// cached with <see cref="KernelImageCache"/>, and loaded once per process. A loaded library is never
/// unloaded: code that a kernel pointer may still reach must stay mapped.
/// </summary>
internal sealed unsafe partial class EmulatedKernelLibrary
{
    private const string HeaderName = "pamm_emu.h";
    private const string RuntimeName = "pamm_emu_runtime.cpp";
    private const int DefaultMaxThreadsPerBlock = 1024;

    private static readonly ConcurrentDictionary<string, Lazy<EmulatedKernelLibrary>> Loaded = new(StringComparer.Ordinal);

    private readonly Dictionary<string, (nint Launch, int MaxThreads)> _kernels;
    private readonly delegate* unmanaged<byte*> _lastError;

    private EmulatedKernelLibrary(string key, nint handle, IEnumerable<string> kernelNames)
    {
        Key = key;
        _lastError = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "pamm_emu_last_error");
        _kernels = new Dictionary<string, (nint, int)>(StringComparer.Ordinal);
        foreach (var name in kernelNames)
        {
            if (!NativeLibrary.TryGetExport(handle, "pamm_emu_launch_" + name, out var launch)) continue;
            var maxThreads = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "pamm_emu_max_threads_" + name);
            _kernels[name] = (launch, maxThreads());
        }
    }

    /// <summary>The cache key: a hash of every source, the emulation runtime, the compiler and its flags.</summary>
    public string Key { get; }

    /// <summary>Names of the kernels the library exports, sorted.</summary>
    public IReadOnlyList<string> KernelNames => [.. _kernels.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The cache key the given sources compile under.</summary>
    public static string KeyOf(HostCompiler compiler, IReadOnlyList<KeyValuePair<string, string>> translationUnits,
        IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        List<string> parts = ["pammcuda-emulated-2", compiler.Executable, compiler.VersionText, compiler.Objcopy,
            string.Join(' ', HostCompiler.Flags), HostCompiler.KernelVisibilityFlag,
            NativeSource(HeaderName), NativeSource(RuntimeName)];
        foreach (var (name, text) in translationUnits.Concat(headers)) parts.AddRange([name, text]);
        return KernelImageCache.Key([.. parts]);
    }

    /// <summary>Returns the library for these sources, compiling it (or taking it from the cache) on first use in the process.</summary>
    public static EmulatedKernelLibrary GetOrLoad(HostCompiler compiler, KernelImageCache cache,
        IReadOnlyList<KeyValuePair<string, string>> translationUnits, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var key = KeyOf(compiler, translationUnits, headers);
        var lazy = Loaded.GetOrAdd(key, k => new Lazy<EmulatedKernelLibrary>(() => Load(k, compiler, cache, translationUnits, headers)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed build is not remembered: fixing the compiler or the sources must allow a retry.
            Loaded.TryRemove(new KeyValuePair<string, Lazy<EmulatedKernelLibrary>>(key, lazy));
            throw;
        }
    }

    /// <summary>Finds a kernel's launch trampoline and its threads-per-block limit.</summary>
    public bool TryGetKernel(string name, out nint launch, out int maxThreadsPerBlock)
    {
        var found = _kernels.TryGetValue(name, out var kernel);
        (launch, maxThreadsPerBlock) = kernel;
        return found;
    }

    /// <summary>The message of the last failed launch on this thread.</summary>
    public string LastError() => Marshal.PtrToStringUTF8((nint)_lastError()) ?? "";

    private static EmulatedKernelLibrary Load(string key, HostCompiler compiler, KernelImageCache cache,
        IReadOnlyList<KeyValuePair<string, string>> translationUnits, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var kernels = translationUnits.SelectMany(unit => KernelSources.ExportedKernels(unit.Value)).Distinct(StringComparer.Ordinal).ToList();
        var image = cache.GetOrAdd(key, () => Compile(key, compiler, cache, translationUnits, headers));
        var path = WriteLibrary(cache, key, image);
        return new EmulatedKernelLibrary(key, NativeLibrary.Load(path), kernels);
    }

    private static byte[] Compile(string key, HostCompiler compiler, KernelImageCache cache,
        IReadOnlyList<KeyValuePair<string, string>> translationUnits, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        // The sources stay beside the cache entry so that a debugger finds the lines the library's -g info points at.
        var directory = CreateBuildDirectory(cache.PathOf(key, ".src"));
        foreach (var (name, text) in headers) File.WriteAllText(Path.Combine(directory, name), text);
        File.WriteAllText(Path.Combine(directory, HeaderName), NativeSource(HeaderName));
        File.WriteAllText(Path.Combine(directory, RuntimeName), NativeSource(RuntimeName));
        List<string> sources = [];
        foreach (var (name, text) in translationUnits)
        {
            File.WriteAllText(Path.Combine(directory, name), text);
            var wrapper = Path.Combine(directory, name + ".emu.cpp");
            File.WriteAllText(wrapper, Wrapper(name, text));
            sources.Add(wrapper);
        }
        var output = Path.Combine(directory, "libpamm_emu.so");
        compiler.BuildSharedLibrary(directory, Path.Combine(directory, HeaderName), sources, Path.Combine(directory, RuntimeName), output);
        return File.ReadAllBytes(output);
    }

    // Includes the unchanged .cu and adds, for each kernel, an export of its __launch_bounds__ evaluated by
    // the compiler itself, so that a bound written as a named constant works as well as a literal.
    private static string Wrapper(string name, string text)
    {
        var builder = new StringBuilder().Append("#include \"").Append(name).Append("\"\n");
        foreach (var kernel in KernelSources.ExportedKernels(text))
        {
            builder.Append("extern \"C\" __attribute__((visibility(\"default\"))) int pamm_emu_max_threads_").Append(kernel)
                .Append("() { return static_cast<int>(").Append(LaunchBound(text, kernel)).Append("); }\n");
        }
        return builder.ToString();
    }

    private static string LaunchBound(string text, string kernel)
    {
        foreach (Match match in LaunchBoundsPattern().Matches(text))
        {
            if (match.Groups["name"].Value == kernel) return FirstArgument(match.Groups["args"].Value);
        }
        return DefaultMaxThreadsPerBlock.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string FirstArgument(string arguments)
    {
        int depth = 0;
        for (int i = 0; i < arguments.Length; i++)
        {
            switch (arguments[i])
            {
                case '(': depth++; break;
                case ')': depth--; break;
                case ',' when depth == 0: return arguments[..i].Trim();
            }
        }
        return arguments.Trim();
    }

    private static string CreateBuildDirectory(string preferred)
    {
        try
        {
            return Directory.CreateDirectory(preferred).FullName;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return Directory.CreateTempSubdirectory("pammcuda-emu-").FullName;
        }
    }

    // NativeLibrary needs a file: the image goes next to its cache entry (named by the key, so a stale file
    // of other sources is never picked up), or to a temporary file when the cache cannot be written.
    private static string WriteLibrary(KernelImageCache cache, string key, byte[] image)
    {
        var path = cache.PathOf(key, ".so");
        try
        {
            if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(image)) return path;
            Directory.CreateDirectory(cache.Directory);
            var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(temporary, image);
            File.Move(temporary, path, overwrite: true);
            return path;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            var temporary = Path.Combine(Directory.CreateTempSubdirectory("pammcuda-emu-").FullName, key + ".so");
            File.WriteAllBytes(temporary, image);
            return temporary;
        }
    }

    private static string NativeSource(string name)
    {
        var assembly = typeof(EmulatedKernelLibrary).Assembly;
        using var stream = assembly.GetManifestResourceStream("emulation/" + name)
            ?? throw new InvalidOperationException($"The assembly lacks its embedded emulation source {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"__launch_bounds__\s*\((?<args>(?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)\s*(?<name>\w+)\s*\(")]
    private static partial Regex LaunchBoundsPattern();
}
