namespace PammCuda.Interop;

/// <summary><c>CUresult</c>: the values the bindings act on; any other value is carried through unchanged.</summary>
internal enum CuResult
{
    Success = 0,
    InvalidValue = 1,
    OutOfMemory = 2,
    NotInitialized = 3,
    Deinitialized = 4,
    StubLibrary = 34,
    NoDevice = 100,
    InvalidDevice = 101,
    NotFound = 500,
    SystemDriverMismatch = 803,
    CompatNotSupportedOnDevice = 804,
}

/// <summary><c>nvrtcResult</c>.</summary>
internal enum NvrtcResult
{
    Success = 0,
    Compilation = 6,
}

/// <summary><c>cublasStatus_t</c>.</summary>
internal enum CublasStatus
{
    Success = 0,
}
