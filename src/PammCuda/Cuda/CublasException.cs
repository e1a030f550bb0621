namespace PammCuda.Cuda;

/// <summary>A cuBLAS call failed; carries the <c>cublasStatus_t</c>'s name and text and the call that failed.</summary>
public sealed class CublasException : Exception
{
    internal CublasException(int code, string statusName, string statusText, string call)
        : base($"{call} failed: {statusName} ({code}): {statusText}")
    {
        StatusCode = code;
        StatusName = statusName;
        StatusText = statusText;
        Call = call;
    }

    /// <summary>The <c>cublasStatus_t</c> value, e.g. 7.</summary>
    public int StatusCode { get; }

    /// <summary>The status's name, e.g. <c>CUBLAS_STATUS_INVALID_VALUE</c>.</summary>
    public string StatusName { get; }

    /// <summary>cuBLAS's description of the status.</summary>
    public string StatusText { get; }

    /// <summary>The call that returned it, as written in the source.</summary>
    public string Call { get; }
}
