namespace PammCuda.Native;

/// <summary>A handle argument is freed, was never issued, or is of the wrong kind (PAMM_ERROR_INVALID_HANDLE).</summary>
internal sealed class InvalidHandleException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvalidHandleException() { }

    /// <summary>Creates the exception with a message naming the argument.</summary>
    public InvalidHandleException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InvalidHandleException(string message, Exception inner) : base(message, inner) { }
}
