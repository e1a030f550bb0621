namespace PammCuda.Interop;

/// <summary>
/// The ordered list of places to load each CUDA library from. Runtime images ship only versioned sonames
/// (no <c>libcuda.so</c> symlink), so every name is versioned, newest first; each name is tried through the
/// system loader first (LD_LIBRARY_PATH, ldconfig, rpath) and then in the usual install folders.
/// </summary>
internal static class CudaLibrarySearch
{
    /// <summary>Environment variable with extra folders to search, separated like PATH.</summary>
    public const string LibraryPathVariable = "PAMMCUDA_CUDA_LIBRARY_PATH";

    private static readonly string[] LinuxDriver = ["libcuda.so.1"];
    private static readonly string[] LinuxNvrtc = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"];
    private static readonly (string Lt, string Blas)[] LinuxBlas =
        [("libcublasLt.so.13", "libcublas.so.13"), ("libcublasLt.so.12", "libcublas.so.12"), ("libcublasLt.so.11", "libcublas.so.11")];

    private static readonly string[] WindowsDriver = ["nvcuda.dll"];
    private static readonly string[] WindowsNvrtc = ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"];
    private static readonly (string Lt, string Blas)[] WindowsBlas =
        [("cublasLt64_13.dll", "cublas64_13.dll"), ("cublasLt64_12.dll", "cublas64_12.dll"), ("cublasLt64_11.dll", "cublas64_11.dll")];

    /// <summary>Every attempt for <paramref name="library"/>, in the order they are made.</summary>
    public static IReadOnlyList<LibraryCandidate> Candidates(CudaLibrary library, LibrarySearchEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var folders = Folders(environment);
        var result = new List<LibraryCandidate>();
        foreach (var (preload, name) in Names(library, environment.IsWindows))
        {
            result.Add(new LibraryCandidate(name, preload));
            foreach (var folder in folders)
                result.Add(new LibraryCandidate(Path.Join(folder, name), preload is null ? null : Path.Join(folder, preload)));
        }
        return [.. result.Distinct()];
    }

    private static IEnumerable<(string? Preload, string Name)> Names(CudaLibrary library, bool windows) => library switch
    {
        CudaLibrary.Driver => (windows ? WindowsDriver : LinuxDriver).Select(n => ((string?)null, n)),
        CudaLibrary.Nvrtc => (windows ? WindowsNvrtc : LinuxNvrtc).Select(n => ((string?)null, n)),
        CudaLibrary.Blas => (windows ? WindowsBlas : LinuxBlas).Select(p => ((string?)p.Lt, p.Blas)),
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "Unknown CUDA library."),
    };

    /// <summary>Folders searched after the system loader, in order, without duplicates or empty entries.</summary>
    public static IReadOnlyList<string> Folders(LibrarySearchEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var folders = new List<string>();
        var extra = environment.GetVariable(LibraryPathVariable);
        if (!string.IsNullOrEmpty(extra))
            folders.AddRange(extra.Split(environment.IsWindows ? ';' : ':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var variable in (string[])["CUDA_PATH", "CUDA_HOME"])
        {
            var root = environment.GetVariable(variable);
            if (string.IsNullOrEmpty(root)) continue;
            if (environment.IsWindows)
            {
                // CUDA 13 moved the DLLs to bin\x64; earlier toolkits keep them in bin.
                folders.Add(Path.Join(root, "bin", "x64"));
                folders.Add(Path.Join(root, "bin"));
            }
            else
            {
                folders.Add(Path.Join(root, "lib64"));
            }
        }
        if (!environment.IsWindows)
        {
            folders.Add("/usr/local/cuda/lib64");
            // Containers with the NVIDIA runtime mount the driver's libraries here.
            folders.Add("/usr/local/nvidia/lib64");
            if (environment.MultiarchDirectory is { } multiarch) folders.Add(multiarch);
        }
        return [.. folders.Distinct(StringComparer.Ordinal)];
    }
}
