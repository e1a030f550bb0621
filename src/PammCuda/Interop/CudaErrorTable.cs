namespace PammCuda.Interop;

/// <summary>
/// Names and texts of the common <c>CUresult</c>, <c>nvrtcResult</c> and <c>cublasStatus_t</c> values, as
/// cuda.h, nvrtc.h and cublas_api.h spell them. Used when the library that would name the error cannot
/// (libcuda absent, or a cuBLAS too old for <c>cublasGetStatusName</c>), so an error is never just a number.
/// </summary>
internal static class CudaErrorTable
{
    private static readonly Dictionary<int, (string Name, string Text)> Driver = new()
    {
        [0] = ("CUDA_SUCCESS", "no error"),
        [1] = ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
        [2] = ("CUDA_ERROR_OUT_OF_MEMORY", "out of memory"),
        [3] = ("CUDA_ERROR_NOT_INITIALIZED", "initialization error"),
        [4] = ("CUDA_ERROR_DEINITIALIZED", "driver shutting down"),
        [34] = ("CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"),
        [46] = ("CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"),
        [100] = ("CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"),
        [101] = ("CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"),
        [200] = ("CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"),
        [201] = ("CUDA_ERROR_INVALID_CONTEXT", "invalid device context"),
        [209] = ("CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"),
        [218] = ("CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"),
        [222] = ("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain."),
        [400] = ("CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"),
        [500] = ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
        [600] = ("CUDA_ERROR_NOT_READY", "device not ready"),
        [700] = ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
        [701] = ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
        [702] = ("CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"),
        [719] = ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
        [801] = ("CUDA_ERROR_NOT_SUPPORTED", "operation not supported"),
        [803] = ("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "system has unsupported display driver / cuda driver combination"),
        [804] = ("CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", "forward compatibility was attempted on non supported HW"),
        [999] = ("CUDA_ERROR_UNKNOWN", "unknown error"),
    };

    private static readonly Dictionary<int, string> Nvrtc = new()
    {
        [0] = "NVRTC_SUCCESS",
        [1] = "NVRTC_ERROR_OUT_OF_MEMORY",
        [2] = "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
        [3] = "NVRTC_ERROR_INVALID_INPUT",
        [4] = "NVRTC_ERROR_INVALID_PROGRAM",
        [5] = "NVRTC_ERROR_INVALID_OPTION",
        [6] = "NVRTC_ERROR_COMPILATION",
        [7] = "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
        [11] = "NVRTC_ERROR_INTERNAL_ERROR",
    };

    private static readonly Dictionary<int, (string Name, string Text)> Blas = new()
    {
        [0] = ("CUBLAS_STATUS_SUCCESS", "success"),
        [1] = ("CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"),
        [3] = ("CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"),
        [7] = ("CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"),
        [8] = ("CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"),
        [11] = ("CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"),
        [13] = ("CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"),
        [14] = ("CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"),
        [15] = ("CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"),
        [16] = ("CUBLAS_STATUS_LICENSE_ERROR", "error detected trying to check the license"),
    };

    public static (string Name, string Text) DriverError(int code) =>
        Driver.TryGetValue(code, out var entry) ? entry : ($"CUresult {code}", "unrecognized error code");

    public static string NvrtcError(int code) =>
        Nvrtc.TryGetValue(code, out var name) ? name : $"nvrtcResult {code}";

    public static (string Name, string Text) BlasError(int code) =>
        Blas.TryGetValue(code, out var entry) ? entry : ($"cublasStatus_t {code}", "unrecognized status");
}
