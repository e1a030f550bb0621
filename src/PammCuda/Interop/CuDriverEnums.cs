namespace PammCuda.Interop;

/// <summary><c>CUdevice_attribute</c> values the bindings read (cuda.h).</summary>
internal enum CuDeviceAttribute
{
    MaxThreadsPerBlock = 1,
    MaxBlockDimX = 2,
    MaxBlockDimY = 3,
    MaxBlockDimZ = 4,
    MaxGridDimX = 5,
    MaxGridDimY = 6,
    MaxGridDimZ = 7,
    MaxSharedMemoryPerBlock = 8,
    MultiprocessorCount = 16,
    MemoryClockRate = 36,
    GlobalMemoryBusWidth = 37,
    L2CacheSize = 38,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    MaxSharedMemoryPerBlockOptin = 97,
}

/// <summary><c>CUfunction_attribute</c> values the bindings use.</summary>
internal enum CuFunctionAttribute
{
    MaxThreadsPerBlock = 0,
    SharedSizeBytes = 1,
    NumRegs = 4,
    MaxDynamicSharedSizeBytes = 8,
}

/// <summary><c>CUpointer_attribute</c> values the bindings query.</summary>
internal enum CuPointerAttribute
{
    Context = 1,
    RangeStartAddress = 11,
    RangeSize = 12,
}

/// <summary><c>CUjit_option</c> values for <c>cuModuleLoadDataEx</c>'s logs.</summary>
internal enum CuJitOption
{
    InfoLogBuffer = 3,
    InfoLogBufferSizeBytes = 4,
    ErrorLogBuffer = 5,
    ErrorLogBufferSizeBytes = 6,
}
