using System.Runtime.InteropServices;

namespace PammCuda.Interop;

/// <summary>
/// cuBLAS (cublas_api.h), bound by the <c>_v2</c> symbols that cublas_v2.h maps its names to. Device pointers are
/// <c>ulong</c>; with pointer mode device, α and β are device pointers too.
/// </summary>
internal static unsafe partial class Cublas
{
    static Cublas() => CudaLibraryResolver.EnsureRegistered();

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasCreate_v2(CublasHandle* handle);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasDestroy_v2(CublasHandle handle);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasGetVersion_v2(CublasHandle handle, int* version);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasSetStream_v2(CublasHandle handle, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasSetPointerMode_v2(CublasHandle handle, CublasPointerMode mode);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasSetMathMode(CublasHandle handle, CublasMath mode);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasSgemm_v2(
        CublasHandle handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        ulong alpha, ulong a, int lda, ulong b, int ldb, ulong beta, ulong c, int ldc);

    [LibraryImport(CudaLibraryNames.Blas)]
    public static partial CublasStatus cublasGemmEx(
        CublasHandle handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        ulong alpha, ulong a, CudaDataType aType, int lda, ulong b, CudaDataType bType, int ldb,
        ulong beta, ulong c, CudaDataType cType, int ldc, CublasComputeType computeType, CublasGemmAlgorithm algorithm);

    private static readonly Lazy<nint> StatusName = new(() => CudaLibraryResolver.TryGetExport(CudaLibrary.Blas, "cublasGetStatusName"));
    private static readonly Lazy<nint> StatusString = new(() => CudaLibraryResolver.TryGetExport(CudaLibrary.Blas, "cublasGetStatusString"));

    /// <summary><c>cublasGetStatusName</c> (cuBLAS 11.4.2 and later), or null where it is not exported.</summary>
    public static string? GetStatusName(CublasStatus status) => CallStringFunction(StatusName.Value, status);

    /// <summary><c>cublasGetStatusString</c> (cuBLAS 11.4.2 and later), or null where it is not exported.</summary>
    public static string? GetStatusString(CublasStatus status) => CallStringFunction(StatusString.Value, status);

    private static string? CallStringFunction(nint export, CublasStatus status)
    {
        if (export == 0) return null;
        byte* text = ((delegate* unmanaged<CublasStatus, byte*>)export)(status);
        return text == null ? null : StatusChecks.Utf8(text);
    }
}
