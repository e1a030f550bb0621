using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// PAMM on a compute device: <see cref="Compress{T}(DeviceBuffer{T}, int, int, PammOptions)"/> keeps generators, assignment and coefficients
/// of an activation X; <see cref="ApproxMatmul{TG, TOut}"/> computes <c>a·Xᵀ G + c·out</c> (or its
/// transpose) from them. Everything is queued on <see cref="Stream"/> without waiting for the device.
/// Memory comes from the caller where a framework wants to count it: <c>CompressInto</c> writes the compressed form
/// into caller storage (<see cref="CompressedStorageBytes"/>), and compressions and products take their scratch from a
/// caller workspace (<see cref="CompressWorkspaceBytes"/>, <see cref="ApproxMatmulWorkspaceBytes(int, int, int, DType, int, DType, bool)"/>); without one, the
/// engine's own scratch is reused across calls. Written once against <see cref="IComputeDevice"/>: it runs the same
/// kernels on a GPU and on the emulated device. Not thread-safe: one engine per stream.
/// </summary>
public sealed partial class PammEngine : IDisposable
{
    private readonly DeviceBuffer<int>? _explicitGenerators;
    private readonly EngineScratch _scratch;
    private readonly CompressedStoragePool _storagePool;
    private int[] _hostGeneratorIndices = [];
    private bool _disposed;

    /// <summary>Creates an engine on <paramref name="device"/>, queuing work on <paramref name="stream"/> (default: the device's default stream).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="device"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> belongs to another device.</exception>
    public PammEngine(IComputeDevice device, PammOptions? options = null, IDeviceStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (stream is not null && !ReferenceEquals(stream.Device, device))
            throw new ArgumentException("The stream belongs to another device.", nameof(stream));
        Device = device;
        Stream = stream ?? device.DefaultStream;
        // Copied once, and the options keep the copy: the engine's options are immutable for its lifetime, so their
        // explicit generators are uploaded here, not per call, and a caller's list changed afterwards cannot make k
        // disagree with what was uploaded.
        options ??= new PammOptions();
        int[]? explicitGenerators = options.GeneratorIndices?.ToArray();
        Options = explicitGenerators is null ? options : options with { GeneratorIndices = explicitGenerators };

        // Nothing here touches the device unless the options name explicit generators: the GEMM constants live in each
        // call's workspace, and scratch is allocated at first need, so an engine can be created on a stream that is
        // being captured into a CUDA graph.
        if (explicitGenerators is { Length: > 0 })
        {
            _explicitGenerators = device.Allocate<int>(explicitGenerators.Length);
            try
            {
                _explicitGenerators.CopyFrom(explicitGenerators, Stream);
            }
            catch
            {
                _explicitGenerators.Dispose();
                throw;
            }
        }
        _scratch = new EngineScratch(device, Stream);
        _storagePool = new CompressedStoragePool(device);
    }

    /// <summary>The device the engine runs on.</summary>
    public IComputeDevice Device { get; }

    /// <summary>The stream all work is queued on.</summary>
    public IDeviceStream Stream { get; }

    /// <summary>How activations are compressed by the overloads of <c>Compress</c> that take no options.</summary>
    public PammOptions Options { get; }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// The exact product <c>output = a·Xᵀ G + c·output</c> (or its transpose) with cuBLAS, float32
    /// accumulation: the reference that tests and benchmarks compare PAMM with. TF32 only when asked.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null buffer.</exception>
    /// <exception cref="ArgumentException">A buffer too small, of another device or of an unsupported type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1 or an unknown layout.</exception>
    /// <exception cref="ObjectDisposedException">The engine or a buffer was disposed.</exception>
    public void ExactMatmul<T, TG, TOut>(DeviceBuffer<T> x, int rows, int columns, DeviceBuffer<TG> gradient, int gradientColumns,
        DeviceBuffer<TOut> output, ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f, bool allowTf32 = false)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        ThrowIfDisposed();
        var inputType = DTypeOf<T>(nameof(x));
        var gradientType = DTypeOf<TG>(nameof(gradient));
        var outputType = DTypeOf<TOut>(nameof(output));
        CheckShape(rows, columns);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        CheckLayout(layout);
        CheckBuffer(x, (long)rows * columns, nameof(x));
        CheckBuffer(gradient, (long)rows * gradientColumns, nameof(gradient));
        CheckBuffer(output, (long)columns * gradientColumns, nameof(output));

        ulong input = x.Address, grad = gradient.Address;
        var operandType = inputType;
        if (inputType != gradientType)
        {
            // cuBLAS multiplies operands of one type only: mixed inputs meet in float32.
            if (inputType != DType.Float32)
                input = Widen(_scratch.WideInput.Ensure((long)rows * columns * sizeof(float)), x.Address, (long)rows * columns, inputType);
            if (gradientType != DType.Float32)
                grad = Widen(_scratch.WideGradient.Ensure((long)rows * gradientColumns * sizeof(float)), gradient.Address,
                    (long)rows * gradientColumns, gradientType);
            operandType = DType.Float32;
        }
        var operands = new ProductOperands(input, operandType, columns, grad, operandType, gradientColumns, rows);
        ulong float32Product = outputType == DType.Float32 ? 0 : _scratch.Product.Ensure((long)columns * gradientColumns * sizeof(float));
        var target = new ProductOutput(output.Address, outputType, layout, c);
        // No dropped count: β = 1.
        var scalars = new ProductScalars(_scratch.ExactScalars.Ensure(ProductScalars.Bytes));
        PammKernels.ProductScalars(Stream, 0UL, rows, a, c, scalars.Address);
        target.Gemm(Stream, scalars, operands, allowTf32, float32Product);
        if (target.NeedsStore) target.Store(Stream, (long)columns * gradientColumns, float32Product);
    }

    /// <summary>The generator sampling kernel alone: the k rows of <paramref name="rows"/> that seed <paramref name="seed"/> picks, ascending.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> below 1 or <paramref name="k"/> outside [1, rows].</exception>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public DeviceBuffer<int> SampleGenerators(int rows, int k, ulong seed)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}].");
        var generators = Device.Allocate<int>(k);
        try
        {
            long scratchBytes = PammKernels.SamplingScratchBytes(rows);
            PammKernels.SampleGenerators(Stream, scratchBytes == 0 ? 0UL : _scratch.Workspace.Ensure(scratchBytes), rows, k, seed, generators.Address);
            return generators;
        }
        catch
        {
            generators.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Frees the engine's scratch and the storage blocks it keeps for reuse. Compressed activations in the engine's
    /// storage stay valid for reading back (η and the copies to the host, on the engine's stream) until disposed
    /// themselves; their blocks are freed then.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _storagePool.Dispose();
        _scratch.Dispose();
        _explicitGenerators?.Dispose();
    }

    /// <summary>Storage blocks this engine keeps for reuse (a test hook: disposing its activations must not wait, only return blocks).</summary>
    internal int FreeStorageBlocks => _storagePool.FreeBlocks;

    /// <summary>Gives a storage block of a disposed activation back for reuse in stream order; frees it once the engine is gone. Never waits while the engine lives.</summary>
    internal void ReturnStorage(DeviceBuffer<byte> block) => _storagePool.Return(block);

    private ulong Widen(ulong target, ulong source, long count, DType sourceType)
    {
        if (sourceType == DType.Float32) return source;
        PammKernels.ConvertToSingle(Stream, sourceType, source, count, target);
        return target;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
