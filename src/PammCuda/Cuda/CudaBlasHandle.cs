using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// A cuBLAS handle in pointer mode device (α and β of <see cref="GemmDescriptor"/> live in device memory) and the default
/// math mode (no TF32 unless a GEMM asks for it). It is bound to no stream: every GEMM names its stream and sets it on the
/// handle under a lock, so one handle can serve every stream of a device, as PyTorch's does (creating a handle allocates,
/// which CUDA graph capture forbids, so a stream first used inside a capture must find one made already).
/// </summary>
internal sealed unsafe class CudaBlasHandle : IDisposable
{
    /// <summary>
    /// The first cuBLAS version whose default workspace is allocated in stream order (cudaMallocAsync), so that GEMMs of
    /// one handle on two streams never share scratch; older versions get a handle per stream. PyTorch relies on the same
    /// since pytorch/pytorch#113994, which stopped giving each (handle, stream) a workspace of its own from CUDA 12.2 on.
    /// </summary>
    public const int StreamOrderedWorkspaceVersion = 120200;

    private readonly Owner _owner;
    private readonly Lock _gate = new();

    public CudaBlasHandle(CudaContext context)
    {
        using var current = context.Enter();
        CublasHandle handle;
        Cublas.cublasCreate_v2(&handle).ThrowIfFailed();
        _owner = new Owner(context, handle);
        try
        {
            Cublas.cublasSetPointerMode_v2(handle, CublasPointerMode.Device).ThrowIfFailed();
            Cublas.cublasSetMathMode(handle, CublasMath.Default).ThrowIfFailed();
            int version;
            Cublas.cublasGetVersion_v2(handle, &version).ThrowIfFailed();
            Version = version;
        }
        catch
        {
            // The caller never sees this object, so the handle is destroyed here and not left to a finalizer.
            _owner.Dispose();
            throw;
        }
    }

    /// <summary>Whether GEMMs of this handle on different streams may overlap safely (see <see cref="StreamOrderedWorkspaceVersion"/>).</summary>
    public bool ServesEveryStream => Version >= StreamOrderedWorkspaceVersion;

    /// <summary>cuBLAS's version number, e.g. 130100 for 13.1.0.</summary>
    public int Version { get; }

    /// <summary>Queues a validated GEMM on <paramref name="stream"/>: SGEMM for float32 without TF32, GemmEx with float32 compute otherwise.</summary>
    public void Gemm(CuStreamHandle stream, in GemmDescriptor gemm)
    {
        ObjectDisposedException.ThrowIf(_owner.IsFreed, this);
        using var current = _owner.Context.Enter();
        lock (_gate)
        {
            Cublas.cublasSetStream_v2(_owner.Blas, stream).ThrowIfFailed();
            Queue(_owner.Blas, gemm);
        }
    }

    private static void Queue(CublasHandle handle, in GemmDescriptor gemm)
    {
        var opA = gemm.OperationA == GemmOperation.None ? CublasOperation.None : CublasOperation.Transpose;
        var opB = gemm.OperationB == GemmOperation.None ? CublasOperation.None : CublasOperation.Transpose;
        bool allFloat32 = gemm.TypeA == DType.Float32 && gemm.TypeB == DType.Float32 && gemm.TypeC == DType.Float32;
        if (allFloat32 && !gemm.AllowTf32)
        {
            Cublas.cublasSgemm_v2(handle, opA, opB, gemm.M, gemm.N, gemm.K, gemm.Alpha, gemm.A, gemm.LeadingDimensionA,
                gemm.B, gemm.LeadingDimensionB, gemm.Beta, gemm.C, gemm.LeadingDimensionC).ThrowIfFailed();
            return;
        }
        var compute = allFloat32 ? CublasComputeType.Compute32FFastTf32 : CublasComputeType.Compute32F;
        Cublas.cublasGemmEx(handle, opA, opB, gemm.M, gemm.N, gemm.K, gemm.Alpha,
            gemm.A, DataType(gemm.TypeA), gemm.LeadingDimensionA, gemm.B, DataType(gemm.TypeB), gemm.LeadingDimensionB,
            gemm.Beta, gemm.C, DataType(gemm.TypeC), gemm.LeadingDimensionC, compute, CublasGemmAlgorithm.Default).ThrowIfFailed();
    }

    private static CudaDataType DataType(DType type) => type switch
    {
        DType.Float32 => CudaDataType.R32F,
        DType.Float16 => CudaDataType.R16F,
        DType.BFloat16 => CudaDataType.R16BF,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown dtype."),
    };

    public void Dispose() => _owner.Dispose();

    private sealed class Owner(CudaContext context, CublasHandle handle) : ContextChild(context)
    {
        public CublasHandle Blas { get; } = handle;

        protected override void FreeNative() => _ = Cublas.cublasDestroy_v2(Blas);
    }
}
