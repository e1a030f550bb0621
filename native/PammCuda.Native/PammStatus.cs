namespace PammCuda.Native;

/// <summary>The <c>pamm_status</c> codes of pamm.h; the values are part of the ABI.</summary>
internal enum PammStatus
{
    /// <summary>PAMM_OK.</summary>
    Ok = 0,

    /// <summary>PAMM_ERROR_INVALID_ARGUMENT: an argument is null, out of range or inconsistent.</summary>
    InvalidArgument = 1,

    /// <summary>PAMM_ERROR_INVALID_HANDLE: a freed, foreign or wrong-kind handle.</summary>
    InvalidHandle = 2,

    /// <summary>PAMM_ERROR_CUDA_UNAVAILABLE: CUDA cannot be used here.</summary>
    CudaUnavailable = 3,

    /// <summary>PAMM_ERROR_OUT_OF_MEMORY: host or device memory ran out.</summary>
    OutOfMemory = 4,

    /// <summary>PAMM_ERROR_BUFFER_TOO_SMALL: a string output does not fit the caller's buffer.</summary>
    BufferTooSmall = 5,

    /// <summary>PAMM_ERROR_RUNTIME: the backend failed.</summary>
    Runtime = 6,
}
