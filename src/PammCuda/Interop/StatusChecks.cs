using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PammCuda.Cuda;

namespace PammCuda.Interop;

/// <summary>
/// Turns every status code into an exception carrying its name and text and the call that returned it
/// (<c>CuDriver.cuMemAlloc_v2(&amp;p, n).ThrowIfFailed()</c>). The success check inlines; building the
/// exception is a separate cold method.
/// </summary>
internal static unsafe class StatusChecks
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(this CuResult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CuResult.Success) ThrowDriver(result, call);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(this NvrtcResult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != NvrtcResult.Success) ThrowNvrtc(result, call);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(this CublasStatus status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != CublasStatus.Success) ThrowBlas(status, call);
    }

    /// <summary>The exception for a failed driver call, named by <c>cuGetErrorName</c> when libcuda is loaded, else by the table.</summary>
    public static CudaException DriverException(CuResult result, string call)
    {
        var (name, text) = CudaErrorTable.DriverError((int)result);
        if (CudaLibraryResolver.IsLoaded(CudaLibrary.Driver))
        {
            byte* native = null;
            if (CuDriver.cuGetErrorName(result, &native) == CuResult.Success && native != null) name = Utf8(native);
            if (CuDriver.cuGetErrorString(result, &native) == CuResult.Success && native != null) text = Utf8(native);
        }
        return new CudaException((int)result, name, text, call);
    }

    /// <summary>The exception for a failed NVRTC call, with the compiler log when there is one.</summary>
    public static NvrtcException NvrtcException(NvrtcResult result, string call, string log = "")
    {
        string name = CudaErrorTable.NvrtcError((int)result);
        if (CudaLibraryResolver.IsLoaded(CudaLibrary.Nvrtc) && Nvrtc.nvrtcGetErrorString(result) is var native && native != null)
            name = Utf8(native);
        return new NvrtcException((int)result, name, call, log);
    }

    /// <summary>The exception for a failed cuBLAS call, named by <c>cublasGetStatusName</c> where cuBLAS exports it.</summary>
    public static CublasException BlasException(CublasStatus status, string call)
    {
        var (name, text) = CudaErrorTable.BlasError((int)status);
        if (CudaLibraryResolver.IsLoaded(CudaLibrary.Blas))
        {
            if (Cublas.GetStatusName(status) is { } libraryName) name = libraryName;
            if (Cublas.GetStatusString(status) is { } libraryText) text = libraryText;
        }
        return new CublasException((int)status, name, text, call);
    }

    public static string Utf8(byte* text) => Marshal.PtrToStringUTF8((nint)text) ?? "";

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDriver(CuResult result, string call) => throw DriverException(result, call);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNvrtc(NvrtcResult result, string call) => throw NvrtcException(result, call);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBlas(CublasStatus status, string call) => throw BlasException(status, call);
}
