namespace PammCuda.Cuda;

/// <summary>A CUDA driver API call failed; carries the <c>CUresult</c>'s name and text and the call that failed.</summary>
public sealed class CudaException : CudaLibraryException
{
    private const int OutOfMemoryCode = 2; // CUDA_ERROR_OUT_OF_MEMORY

    internal CudaException(int code, string errorName, string errorText, string call)
        : base("CUDA driver", code, errorName, errorText, call, $"{call} failed: {errorName} ({code}): {errorText}")
    {
    }

    /// <inheritdoc/>
    public override bool IsOutOfMemory => Code == OutOfMemoryCode;
}
