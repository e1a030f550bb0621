namespace PammCuda.Cuda;

/// <summary>A CUDA library (driver, NVRTC or cuBLAS) could not be loaded from any of the places searched.</summary>
public sealed class CudaLibraryNotFoundException : DllNotFoundException
{
    internal CudaLibraryNotFoundException(string library, IReadOnlyList<string> attempts)
        : base($"The CUDA {library} library could not be loaded (tried: {string.Join("; ", attempts)}). " +
               $"Install it, or name its folder in ${Interop.CudaLibrarySearch.LibraryPathVariable}.")
    {
        Library = library;
        Attempts = attempts;
    }

    /// <summary>Which library: Driver, Nvrtc or Blas.</summary>
    public string Library { get; }

    /// <summary>Every path or name tried, in order, each with why it failed.</summary>
    public IReadOnlyList<string> Attempts { get; }
}
