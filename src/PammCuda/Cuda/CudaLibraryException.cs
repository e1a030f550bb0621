namespace PammCuda.Cuda;

/// <summary>
/// A call into a CUDA library failed: the driver (<see cref="CudaException"/>), cuBLAS (<see cref="CublasException"/>) or
/// NVRTC (<see cref="NvrtcException"/>). One base, so that callers (the C ABI, a framework) tell an out-of-memory failure
/// from the rest without knowing each library's codes.
/// </summary>
public abstract class CudaLibraryException : Exception
{
    private protected CudaLibraryException(string library, int code, string name, string text, string call, string message)
        : base(message)
    {
        Library = library;
        Code = code;
        Name = name;
        Text = text;
        Call = call;
    }

    /// <summary>The library that failed: <c>CUDA driver</c>, <c>cuBLAS</c> or <c>NVRTC</c>.</summary>
    public string Library { get; }

    /// <summary>The status the call returned (<c>CUresult</c>, <c>cublasStatus_t</c>, <c>nvrtcResult</c>), e.g. 2.</summary>
    public int Code { get; }

    /// <summary>The status's name, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string Name { get; }

    /// <summary>The library's description of the status (for NVRTC, the compiler log when there is one).</summary>
    public string Text { get; }

    /// <summary>The call that returned it, as written in the source.</summary>
    public string Call { get; }

    /// <summary>The library ran out of memory (device memory, or host memory it needed).</summary>
    public abstract bool IsOutOfMemory { get; }
}
