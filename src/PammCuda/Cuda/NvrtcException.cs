namespace PammCuda.Cuda;

/// <summary>An NVRTC call failed; for a failed compile, <see cref="Log"/> holds the compiler's messages (also in the message).</summary>
public sealed class NvrtcException : Exception
{
    internal NvrtcException(int code, string errorName, string call, string log)
        : base(log.Length == 0 ? $"{call} failed: {errorName} ({code})" : $"{call} failed: {errorName} ({code}):{Environment.NewLine}{log}")
    {
        ErrorCode = code;
        ErrorName = errorName;
        Call = call;
        Log = log;
    }

    /// <summary>The <c>nvrtcResult</c> value, e.g. 6.</summary>
    public int ErrorCode { get; }

    /// <summary>The result's name, e.g. <c>NVRTC_ERROR_COMPILATION</c>.</summary>
    public string ErrorName { get; }

    /// <summary>The call that returned it (or the program that failed to compile).</summary>
    public string Call { get; }

    /// <summary>The compiler log; empty when the failure was not a compile.</summary>
    public string Log { get; }
}
