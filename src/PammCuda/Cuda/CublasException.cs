namespace PammCuda.Cuda;

/// <summary>A cuBLAS call failed; carries the <c>cublasStatus_t</c>'s name and text and the call that failed.</summary>
public sealed class CublasException : CudaLibraryException
{
    private const int AllocationFailedCode = 3; // CUBLAS_STATUS_ALLOC_FAILED

    internal CublasException(int code, string statusName, string statusText, string call)
        : base("cuBLAS", code, statusName, statusText, call, $"{call} failed: {statusName} ({code}): {statusText}")
    {
    }

    /// <inheritdoc/>
    public override bool IsOutOfMemory => Code == AllocationFailedCode;
}
