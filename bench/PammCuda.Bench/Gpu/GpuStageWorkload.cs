using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// The engine's two passes on one input, ready to run any stage alone: random X (b × n) and G (b × m) and an output
/// (n × m, a = 1, c = 0) in one element type, compressed and multiplied once by the engine so that each stage's inputs are
/// in place. The compression and the product have workspaces of their own, so a product stage never overwrites what a
/// compression stage reads. The stages are the engine's own <see cref="CompressPass"/> and <see cref="ProductPass"/> methods.
/// </summary>
internal sealed class GpuStageWorkload : IDisposable
{
    private readonly List<IDisposable> _owned;

    private GpuStageWorkload(CompressPass compress, ProductPass product, Action lastStageByCublas, Action assignmentMatrix, Action reduceByGemm,
        List<IDisposable> owned)
    {
        Compress = compress;
        Product = product;
        LastStageByCublas = lastStageByCublas;
        AssignmentMatrix = assignmentMatrix;
        ReduceByGemm = reduceByGemm;
        _owned = owned;
    }

    /// <summary>The compression pass of X.</summary>
    public CompressPass Compress { get; }

    /// <summary>The product pass, <c>Xᵀ G</c>.</summary>
    public ProductPass Product { get; }

    /// <summary>
    /// The product's last stage as the engine ran it before <c>pamm_expand</c>, on the same B̃ and C: cuBLAS's strict float32
    /// GEMM a·β·Cᵀ B̃ into a float32 block (C widened once, at setup, when 16-bit), then, for a 16-bit output, the rounding
    /// pass. Kept so that one GPU run says which of the two is faster at each shape (kernels/README.md, "The last stage").
    /// </summary>
    public Action LastStageByCublas { get; }

    /// <summary>
    /// The other sort-free product's stage in the place of the plan (<see cref="AssignmentMatrixProduct"/>): Pᵀ (k × b in
    /// G's dtype) built from the compression's f and α. Built once at setup, so <see cref="ReduceByGemm"/> can run alone.
    /// </summary>
    public Action AssignmentMatrix { get; }

    /// <summary>
    /// The other sort-free product's stage in the place of the two reduction passes: B̃ = Pᵀ G as one cuBLAS GEMM, into a
    /// B̃ of its own. Kept so that one GPU run says which form of B̃ is faster at each shape (kernels/README.md).
    /// </summary>
    public Action ReduceByGemm { get; }

    /// <summary>Uploads the inputs, runs the whole pipeline once and waits for the device.</summary>
    /// <exception cref="InvalidOperationException">A dtype the GPU suite does not run.</exception>
    public static GpuStageWorkload Create(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options, DType dtype) =>
        dtype switch
        {
            DType.Float32 => Create<float>(device, stream, rows, width, options),
            DType.BFloat16 => Create<BFloat16>(device, stream, rows, width, options),
            _ => throw new InvalidOperationException($"The GPU suite does not run {dtype}."),
        };

    /// <summary>Frees the engine, the compressed activation and the buffers, newest first.</summary>
    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
    }

    private static GpuStageWorkload Create<T>(IComputeDevice device, IDeviceStream stream, int rows, int width, PammOptions options)
        where T : unmanaged
    {
        var owned = new List<IDisposable>();
        try
        {
            var dtype = DTypes.Of<T>();
            int k = options.ResolveK(rows);
            long elements = (long)rows * width;
            var x = Own(owned, device.Allocate<T>(elements));
            var gradient = Own(owned, device.Allocate<T>(elements));
            var output = Own(owned, device.Allocate<T>((long)width * width));
            var storage = Own(owned, device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, width, k, dtype)));
            var compressWorkspace = Own(owned, device.Allocate<byte>(PammEngine.CompressWorkspaceBytes(rows, width, k)));
            var productWorkspace = Own(owned, device.Allocate<byte>(PammEngine.ApproxMatmulWorkspaceBytes(rows, width, k, dtype, width, dtype)));
            var engine = Own(owned, new PammEngine(device, options, stream));
            x.CopyFrom(HostData.SharedUniform<T>(elements, seed: 1), stream);
            gradient.CopyFrom(HostData.SharedUniform<T>(elements, seed: 2), stream);

            var compressed = Own(owned, engine.CompressInto(x, rows, width, options, storage, compressWorkspace));
            engine.ApproxMatmul(compressed, gradient, width, output, ProductLayout.InputByGradient, 1f, 0f, productWorkspace);
            var parts = CompressedParts.Of(compressed);
            var compress = engine.PrepareCompress(x.Address, parts, options, CompressWorkspace.At(compressWorkspace.Address, rows, width, k));
            var productScratch = ProductWorkspace.At(productWorkspace.Address, rows, k, width, transientPlan: true);
            var product = engine.PrepareProduct(parts, gradient.Address, width, dtype, output.Address, dtype, ProductLayout.InputByGradient,
                1f, 0f, productScratch);
            var lastStageByCublas = FormerLastStage(device, stream, owned, parts, productScratch.Reduced, rows, width, k, output.Address, dtype);
            var matrix = Own(owned, device.Allocate<byte>(AssignmentMatrixProduct.MatrixBytes(rows, k, dtype)));
            var reducedByGemm = Own(owned, device.Allocate<float>((long)k * width));
            Action assignmentMatrix = () => AssignmentMatrixProduct.BuildMatrix(stream, parts, dtype, matrix.Address);
            var gemm = AssignmentMatrixProduct.Reduce(matrix.Address, rows, k, gradient.Address, width, dtype,
                compress.GemmConstants.One, compress.GemmConstants.Zero, reducedByGemm.Address);
            assignmentMatrix();
            stream.Synchronize();
            return new GpuStageWorkload(compress, product, lastStageByCublas, assignmentMatrix, () => stream.Gemm(gemm), owned);
        }
        catch
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
            throw;
        }
    }

    private static Action FormerLastStage(IComputeDevice device, IDeviceStream stream, List<IDisposable> owned, CompressedParts parts,
        ulong reduced, int rows, int width, int k, ulong output, DType dtype)
    {
        ulong generators = parts.Generators;
        if (dtype != DType.Float32)
        {
            var wide = Own(owned, device.Allocate<float>((long)k * width));
            PammKernels.ConvertToSingle(stream, dtype, parts.Generators, (long)k * width, wide.Address);
            generators = wide.Address;
        }
        var staging = Own(owned, device.Allocate<float>((long)width * width));
        var scalars = new ProductScalars(Own(owned, device.Allocate<float>(ProductScalars.Bytes / sizeof(float))).Address);
        // a = 1 and no dropped rows: a·β = 1, c = 0, as the workload's product runs.
        PammKernels.ProductScalars(stream, 0UL, rows, 1f, 0f, scalars.Address);
        var target = new ProductOutput(output, dtype, ProductLayout.InputByGradient, 0f);
        var operands = new ProductOperands(generators, DType.Float32, width, reduced, DType.Float32, width, k);
        return () =>
        {
            target.Gemm(stream, scalars, operands, allowTf32: false, staging.Address);
            if (target.NeedsStore) target.Store(stream, (long)width * width, staging.Address);
        };
    }

    private static TOwned Own<TOwned>(List<IDisposable> owned, TOwned item) where TOwned : IDisposable
    {
        owned.Add(item);
        return item;
    }
}
