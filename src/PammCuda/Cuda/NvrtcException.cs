namespace PammCuda.Cuda;

/// <summary>An NVRTC call failed; for a failed compile, <see cref="Log"/> holds the compiler's messages (also in the message).</summary>
public sealed class NvrtcException : CudaLibraryException
{
    private const int OutOfMemoryCode = 1; // NVRTC_ERROR_OUT_OF_MEMORY

    internal NvrtcException(int code, string errorName, string call, string log)
        : base("NVRTC", code, errorName, log, call,
            log.Length == 0 ? $"{call} failed: {errorName} ({code})" : $"{call} failed: {errorName} ({code}):{Environment.NewLine}{log}")
    {
    }

    /// <summary>The compiler log; empty when the failure was not a compile.</summary>
    public string Log => Text;

    /// <inheritdoc/>
    public override bool IsOutOfMemory => Code == OutOfMemoryCode;
}
