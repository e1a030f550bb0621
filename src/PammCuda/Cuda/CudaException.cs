namespace PammCuda.Cuda;

/// <summary>A CUDA driver API call failed; carries the <c>CUresult</c>'s name and text and the call that failed.</summary>
public sealed class CudaException : Exception
{
    internal CudaException(int code, string errorName, string errorText, string call)
        : base($"{call} failed: {errorName} ({code}): {errorText}")
    {
        ErrorCode = code;
        ErrorName = errorName;
        ErrorText = errorText;
        Call = call;
    }

    /// <summary>The <c>CUresult</c> value, e.g. 2.</summary>
    public int ErrorCode { get; }

    /// <summary>The error's name, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string ErrorName { get; }

    /// <summary>The driver's description of the error, e.g. "out of memory".</summary>
    public string ErrorText { get; }

    /// <summary>The call that returned it, as written in the source.</summary>
    public string Call { get; }
}
