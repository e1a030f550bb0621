namespace PammCuda.Interop;

/// <summary>The native libraries the bindings use; each is resolved by <see cref="CudaLibraryResolver"/>.</summary>
internal enum CudaLibrary
{
    /// <summary>The CUDA driver API (<c>libcuda.so.1</c>, <c>nvcuda.dll</c>).</summary>
    Driver,

    /// <summary>The run-time compiler (<c>libnvrtc.so.*</c>).</summary>
    Nvrtc,

    /// <summary>cuBLAS (<c>libcublas.so.*</c>, with <c>libcublasLt.so.*</c> loaded first).</summary>
    Blas,
}

/// <summary>The names the <c>[LibraryImport]</c> declarations use; only the resolver gives them meaning.</summary>
internal static class CudaLibraryNames
{
    public const string Driver = "cuda";
    public const string Nvrtc = "nvrtc";
    public const string Blas = "cublas";

    public static CudaLibrary? FromImportName(string name) => name switch
    {
        Driver => CudaLibrary.Driver,
        Nvrtc => CudaLibrary.Nvrtc,
        Blas => CudaLibrary.Blas,
        _ => null,
    };
}
