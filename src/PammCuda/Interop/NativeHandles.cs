namespace PammCuda.Interop;

// Opaque handles of the native APIs, one struct per C type so that a stream can never be passed where a
// context is expected. Each is a single pointer-sized field: blittable, passed exactly like the C typedef.

/// <summary><c>CUcontext</c>.</summary>
internal readonly record struct CuContextHandle(nint Value);

/// <summary><c>CUstream</c> (also <c>cudaStream_t</c>); 0 is the legacy default stream.</summary>
internal readonly record struct CuStreamHandle(nint Value);

/// <summary><c>CUevent</c>.</summary>
internal readonly record struct CuEventHandle(nint Value);

/// <summary><c>CUmodule</c>.</summary>
internal readonly record struct CuModuleHandle(nint Value);

/// <summary><c>CUfunction</c>.</summary>
internal readonly record struct CuFunctionHandle(nint Value);

/// <summary><c>nvrtcProgram</c>.</summary>
internal readonly record struct NvrtcProgramHandle(nint Value);

/// <summary><c>cublasHandle_t</c>.</summary>
internal readonly record struct CublasHandle(nint Value);
