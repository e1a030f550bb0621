using System.Runtime.InteropServices;

namespace PammCuda.Interop;

/// <summary>
/// The CUDA driver API (cuda.h), bound by exported symbol: the <c>_v2</c> symbols where cuda.h maps a name to one
/// (64-bit sizes and device pointers), never the legacy unsuffixed ABI. <c>CUdevice</c> is an <c>int</c>,
/// <c>CUdeviceptr</c> a <c>ulong</c>, <c>size_t</c> a <c>nuint</c>.
/// </summary>
internal static unsafe partial class CuDriver
{
    static CuDriver() => CudaLibraryResolver.EnsureRegistered();

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuInit(uint flags);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDriverGetVersion(int* driverVersion);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuGetErrorName(CuResult error, byte** name);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuGetErrorString(CuResult error, byte** text);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDeviceGetCount(int* count);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDeviceGet(int* device, int ordinal);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDeviceTotalMem_v2(nuint* bytes, int device);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDeviceGetAttribute(int* value, CuDeviceAttribute attribute, int device);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDevicePrimaryCtxRetain(CuContextHandle* context, int device);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuCtxSetCurrent(CuContextHandle context);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuCtxGetCurrent(CuContextHandle* context);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuCtxSynchronize();

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemAlloc_v2(ulong* address, nuint bytes);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemFree_v2(ulong address);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemsetD8Async(ulong destination, byte value, nuint count, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemsetD32Async(ulong destination, uint value, nuint count, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyDtoD_v2(ulong destination, ulong source, nuint bytes);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemHostAlloc(void** pointer, nuint bytes, uint flags);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuMemFreeHost(void* pointer);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuPointerGetAttribute(void* data, CuPointerAttribute attribute, ulong pointer);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuStreamCreateWithPriority(CuStreamHandle* stream, uint flags, int priority);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuStreamGetPriority(CuStreamHandle stream, int* priority);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuCtxGetStreamPriorityRange(int* leastPriority, int* greatestPriority);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuStreamDestroy_v2(CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuStreamSynchronize(CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuEventCreate(CuEventHandle* @event, uint flags);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuEventRecord(CuEventHandle @event, CuStreamHandle stream);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuEventSynchronize(CuEventHandle @event);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuStreamWaitEvent(CuStreamHandle stream, CuEventHandle @event, uint flags);

    /// <summary>
    /// CUDA 12.8 added <c>cuEventElapsedTime_v2</c> (same signature) and CUDA 13's cuda.h maps the name to it;
    /// drivers older than 12.8 export only this one, so it is the fallback of <see cref="EventElapsedTime"/>.
    /// </summary>
    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuEventElapsedTime(float* milliseconds, CuEventHandle start, CuEventHandle end);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuEventDestroy_v2(CuEventHandle @event);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuModuleLoadDataEx(CuModuleHandle* module, void* image, uint optionCount, CuJitOption* options, void** optionValues);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuModuleUnload(CuModuleHandle module);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuModuleGetFunction(CuFunctionHandle* function, CuModuleHandle module, byte* name);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuFuncGetAttribute(int* value, CuFunctionAttribute attribute, CuFunctionHandle function);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuFuncSetAttribute(CuFunctionHandle function, CuFunctionAttribute attribute, int value);

    [LibraryImport(CudaLibraryNames.Driver)]
    public static partial CuResult cuLaunchKernel(
        CuFunctionHandle function,
        uint gridDimX, uint gridDimY, uint gridDimZ,
        uint blockDimX, uint blockDimY, uint blockDimZ,
        uint sharedMemBytes, CuStreamHandle stream, void** kernelParams, void** extra);

    private static readonly Lazy<nint> ElapsedTimeV2 = new(() => CudaLibraryResolver.TryGetExport(CudaLibrary.Driver, "cuEventElapsedTime_v2"));

    /// <summary><c>cuEventElapsedTime_v2</c> where the driver exports it, else <c>cuEventElapsedTime</c>.</summary>
    public static CuResult EventElapsedTime(float* milliseconds, CuEventHandle start, CuEventHandle end)
    {
        var v2 = (delegate* unmanaged<float*, CuEventHandle, CuEventHandle, CuResult>)ElapsedTimeV2.Value;
        return v2 != null ? v2(milliseconds, start, end) : cuEventElapsedTime(milliseconds, start, end);
    }
}
