using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using PammCuda.Cuda;

namespace PammCuda.Interop;

/// <summary>
/// The one <see cref="NativeLibrary.SetDllImportResolver"/> of this assembly: maps the logical names of the
/// <c>[LibraryImport]</c> declarations to the first candidate of <see cref="CudaLibrarySearch"/> that loads.
/// A library that cannot be loaded throws <see cref="CudaLibraryNotFoundException"/> listing every attempt,
/// on every call, instead of the runtime's bare <see cref="DllNotFoundException"/>.
/// </summary>
internal static class CudaLibraryResolver
{
    private static readonly ConcurrentDictionary<CudaLibrary, Lazy<LoadResult>> Loaded = new();

    static CudaLibraryResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(CudaLibraryResolver).Assembly, Resolve);

    /// <summary>Registers the resolver; every binding class calls this from its static constructor.</summary>
    public static void EnsureRegistered()
    {
        // The work happens once, in the static constructor this call triggers.
    }

    /// <summary>The loaded library's handle, or throws <see cref="CudaLibraryNotFoundException"/>.</summary>
    public static nint Load(CudaLibrary library)
    {
        var result = Get(library);
        return result.Handle != 0 ? result.Handle : throw result.Failure!;
    }

    /// <summary>Loads the library if possible and reports how it went, without throwing.</summary>
    public static bool TryLoad(CudaLibrary library, out string pathOrFailure)
    {
        var result = Get(library);
        pathOrFailure = result.Handle != 0 ? result.Path! : result.Failure!.Message;
        return result.Handle != 0;
    }

    /// <summary>Why <paramref name="library"/> could not be loaded; only valid after <see cref="TryLoad"/> returned false.</summary>
    public static CudaLibraryNotFoundException LoadFailure(CudaLibrary library) =>
        Get(library).Failure ?? throw new InvalidOperationException($"The CUDA {library} library did load.");

    /// <summary>True once <paramref name="library"/> has been loaded (never loads it).</summary>
    public static bool IsLoaded(CudaLibrary library) =>
        Loaded.TryGetValue(library, out var lazy) && lazy.IsValueCreated && lazy.Value.Handle != 0;

    /// <summary>An optional export (a symbol newer than the oldest supported version), or 0.</summary>
    public static nint TryGetExport(CudaLibrary library, string symbol) =>
        NativeLibrary.TryGetExport(Load(library), symbol, out var address) ? address : 0;

    private static LoadResult Get(CudaLibrary library) =>
        Loaded.GetOrAdd(library, l => new Lazy<LoadResult>(() => LoadFirst(l, CudaLibrarySearch.Candidates(l, LibrarySearchEnvironment.Current)))).Value;

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        CudaLibraryNames.FromImportName(libraryName) is { } library ? Load(library) : 0;

    private static LoadResult LoadFirst(CudaLibrary library, IReadOnlyList<LibraryCandidate> candidates)
    {
        var attempts = new List<string>();
        foreach (var candidate in candidates)
        {
            if (candidate.Preload is { } preload) TryLoadOne(preload, attempts);
            if (TryLoadOne(candidate.Path, attempts) is var handle and not 0) return new LoadResult(handle, candidate.Path, null);
        }
        return new LoadResult(0, null, new CudaLibraryNotFoundException(library.ToString(), attempts));
    }

    private static nint TryLoadOne(string path, List<string> attempts)
    {
        bool bareName = Path.GetFileName(path) == path;
        if (!bareName && !File.Exists(path))
        {
            attempts.Add($"{path} (not present)");
            return 0;
        }
        try
        {
            return NativeLibrary.Load(path);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            attempts.Add($"{path} ({LoaderError(e)})");
            return 0;
        }
    }

    /// <summary>The loader's own words (dlerror's line), without the runtime's generic advice around them.</summary>
    private static string LoaderError(Exception e) =>
        e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? e.GetType().Name;

    private sealed record LoadResult(nint Handle, string? Path, CudaLibraryNotFoundException? Failure);
}
