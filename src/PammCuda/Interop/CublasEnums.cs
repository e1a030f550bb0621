namespace PammCuda.Interop;

/// <summary><c>cublasOperation_t</c>.</summary>
internal enum CublasOperation
{
    None = 0,
    Transpose = 1,
}

/// <summary><c>cublasPointerMode_t</c>.</summary>
internal enum CublasPointerMode
{
    Host = 0,
    Device = 1,
}

/// <summary><c>cublasMath_t</c>.</summary>
internal enum CublasMath
{
    Default = 0,
}

/// <summary><c>cudaDataType_t</c> (library_types.h) values of the dtypes PAMM uses.</summary>
internal enum CudaDataType
{
    R32F = 0,
    R16F = 2,
    R16BF = 14,
}

/// <summary><c>cublasComputeType_t</c>.</summary>
internal enum CublasComputeType
{
    Compute32F = 68,
    Compute32FFastTf32 = 77,
}

/// <summary><c>cublasGemmAlgo_t</c>.</summary>
internal enum CublasGemmAlgorithm
{
    Default = -1,
}
