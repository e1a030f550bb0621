using System.Runtime.InteropServices;

namespace PammCuda.Interop;

/// <summary>NVRTC (nvrtc.h). Strings are NUL-terminated UTF-8; sizes are <c>size_t</c> (<c>nuint</c>).</summary>
internal static unsafe partial class Nvrtc
{
    static Nvrtc() => CudaLibraryResolver.EnsureRegistered();

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcVersion(int* major, int* minor);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial byte* nvrtcGetErrorString(NvrtcResult result);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcCreateProgram(
        NvrtcProgramHandle* program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcCompileProgram(NvrtcProgramHandle program, int optionCount, byte** options);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetProgramLogSize(NvrtcProgramHandle program, nuint* size);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetProgramLog(NvrtcProgramHandle program, byte* log);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetCUBINSize(NvrtcProgramHandle program, nuint* size);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetCUBIN(NvrtcProgramHandle program, byte* cubin);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetPTXSize(NvrtcProgramHandle program, nuint* size);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcGetPTX(NvrtcProgramHandle program, byte* ptx);

    [LibraryImport(CudaLibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcDestroyProgram(NvrtcProgramHandle* program);

    /// <summary>
    /// The <c>sm_XY</c> numbers (XY = 10·major + minor) this NVRTC can compile for, or null where it predates
    /// <c>nvrtcGetSupportedArchs</c> (added in 11.2), looked up with <see cref="NativeLibrary.TryGetExport"/>.
    /// </summary>
    public static int[]? GetSupportedArchitectures()
    {
        var getCount = (delegate* unmanaged<int*, NvrtcResult>)CudaLibraryResolver.TryGetExport(CudaLibrary.Nvrtc, "nvrtcGetNumSupportedArchs");
        var getArchs = (delegate* unmanaged<int*, NvrtcResult>)CudaLibraryResolver.TryGetExport(CudaLibrary.Nvrtc, "nvrtcGetSupportedArchs");
        if (getCount == null || getArchs == null) return null;
        int count;
        getCount(&count).ThrowIfFailed();
        var archs = new int[count];
        fixed (int* p = archs) getArchs(p).ThrowIfFailed();
        return archs;
    }
}
