using PammCuda.Cpu;
using PammCuda.Devices;

namespace PammCuda.Emulation;

/// <summary>
/// A device that runs the CUDA kernels of <c>kernels/*.cu</c> on the CPU, so that every kernel and the whole
/// GPU engine execute where there is no GPU. The sources are compiled for the host by the system C++
/// compiler (with <c>pamm_emu.h</c> supplying the CUDA subset) and run with CUDA's block, barrier and warp
/// semantics; launch limits are checked as on a GPU; buffers are guarded, so an out-of-bounds write fails
/// the launch with the kernel's name, and fresh memory reads as NaN. Work runs synchronously in submission
/// order (see <see cref="IDeviceStream"/>); GEMMs run on <see cref="CpuGemm"/>.
/// </summary>
public sealed unsafe class EmulatedComputeDevice : IComputeDevice
{
    /// <summary>Most bytes of dynamic shared memory a launch may ask for (CUDA's default limit without opt-in).</summary>
    public const int MaxDynamicSharedBytes = 48 * 1024;

    private const int MaxThreadsPerBlockLimit = 1024;
    private const int MaxWorkerThreads = 16;

    private readonly HostCompiler _compiler;
    private readonly KernelImageCache _cache;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _translationUnits;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _headers;
    private readonly GuardedMemory _memory = new();
    private readonly Dictionary<string, DeviceKernel> _kernels = new(StringComparer.Ordinal);
    private readonly Lock _kernelLock = new();
    private readonly int _workerThreads;
    private readonly uint _orderSeed;
    private EmulatedKernelLibrary? _library;
    private volatile bool _disposed;

    /// <summary>A device running the kernels of <c>kernels/*.cu</c>, compiled once into the default cache folder.</summary>
    /// <exception cref="DeviceUnavailableException">No C++ compiler was found.</exception>
    public EmulatedComputeDevice()
        : this(cache: null)
    {
    }

    /// <summary>A device running the kernels of <c>kernels/*.cu</c>.</summary>
    /// <param name="cache">Where compiled libraries are kept; the default cache when null.</param>
    /// <exception cref="DeviceUnavailableException">No C++ compiler was found.</exception>
    internal EmulatedComputeDevice(KernelImageCache? cache)
        : this(KernelSources.TranslationUnits, KernelSources.Headers, cache)
    {
    }

    /// <summary>A device running the kernels of <c>kernels/*.cu</c> in <paramref name="executionOrder"/>.</summary>
    /// <param name="executionOrder">The order of the blocks and of a block's turns (the race check: see <see cref="EmulatedExecutionOrder"/>).</param>
    /// <param name="orderSeed">What <see cref="EmulatedExecutionOrder.Shuffled"/> draws its permutations from; unused by the other orders.</param>
    /// <param name="workerThreads">OS threads that run blocks side by side; 0 for one a processor (at most 16). One runs the blocks one after another, in the order.</param>
    /// <exception cref="DeviceUnavailableException">No C++ compiler was found.</exception>
    internal EmulatedComputeDevice(EmulatedExecutionOrder executionOrder, uint orderSeed = 0, int workerThreads = 0)
        : this(KernelSources.TranslationUnits, KernelSources.Headers, cache: null, executionOrder, orderSeed, workerThreads)
    {
    }

    /// <summary>A device running kernels of the given sources (file name → text), which follow the kernel conventions of <c>kernels/</c>.</summary>
    /// <param name="translationUnits">The <c>*.cu</c> files; each exports its kernels with <c>PAMM_EXPORT_KERNEL</c>.</param>
    /// <param name="headers">Headers the translation units include by bare file name.</param>
    /// <param name="cache">Where compiled libraries are kept; the default cache when null.</param>
    /// <param name="executionOrder">The order of the blocks and of a block's turns (see <see cref="EmulatedExecutionOrder"/>).</param>
    /// <param name="orderSeed">What <see cref="EmulatedExecutionOrder.Shuffled"/> draws its permutations from.</param>
    /// <param name="workerThreads">OS threads that run blocks side by side; 0 for one a processor (at most 16).</param>
    /// <exception cref="DeviceUnavailableException">No C++ compiler was found.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="executionOrder"/> is not an order, or <paramref name="workerThreads"/> is outside [0, 16].</exception>
    internal EmulatedComputeDevice(IReadOnlyList<KeyValuePair<string, string>> translationUnits,
        IReadOnlyList<KeyValuePair<string, string>> headers, KernelImageCache? cache = null,
        EmulatedExecutionOrder executionOrder = EmulatedExecutionOrder.Ascending, uint orderSeed = 0, int workerThreads = 0)
    {
        if (!Enum.IsDefined(executionOrder))
            throw new ArgumentOutOfRangeException(nameof(executionOrder), executionOrder, "Not an order of the emulated device.");
        if (workerThreads < 0 || workerThreads > MaxWorkerThreads)
            throw new ArgumentOutOfRangeException(nameof(workerThreads), workerThreads, $"Between 0 (one a processor) and {MaxWorkerThreads}.");
        ArgumentNullException.ThrowIfNull(translationUnits);
        ArgumentNullException.ThrowIfNull(headers);
        _compiler = HostCompiler.TryFind(out var reason) ?? throw new DeviceUnavailableException(reason);
        _translationUnits = translationUnits;
        _headers = headers;
        _cache = cache ?? new KernelImageCache();
        _workerThreads = workerThreads > 0 ? workerThreads : Math.Clamp(Environment.ProcessorCount, 1, MaxWorkerThreads);
        ExecutionOrder = executionOrder;
        _orderSeed = orderSeed;
        DefaultStream = new EmulatedStream(this, 0, ownedByDevice: true);
    }

    /// <summary>Null when the emulated device can be created here; otherwise why not (no C++ compiler).</summary>
    public static string? CheckAvailability() => HostCompiler.TryFind(out var reason) is null ? reason : null;

    /// <summary>The cache key the kernels of this device compile under (to ask <see cref="KernelImageCache.Contains"/>).</summary>
    public string CacheKey => EmulatedKernelLibrary.KeyOf(_compiler, _translationUnits, _headers);

    /// <inheritdoc/>
    public string Name => $"emulated ({_compiler.ShortName}, {_workerThreads} worker thread{(_workerThreads == 1 ? "" : "s")}{OrderSuffix})";

    /// <summary>The order in which the blocks run and a block's threads take their turns.</summary>
    internal EmulatedExecutionOrder ExecutionOrder { get; }

    private string OrderSuffix => ExecutionOrder switch
    {
        EmulatedExecutionOrder.Descending => ", blocks and threads in descending order",
        EmulatedExecutionOrder.Shuffled => $", blocks and threads shuffled by seed {_orderSeed}",
        _ => "",
    };

    /// <inheritdoc/>
    public bool IsEmulated => true;

    /// <inheritdoc/>
    public long TotalMemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <inheritdoc/>
    public IDeviceStream DefaultStream { get; }

    /// <inheritdoc/>
    public IDeviceStream CreateStream(StreamPriority priority = StreamPriority.Normal)
    {
        // The emulated device runs work as it is submitted, so a priority changes nothing; it is checked all the same.
        StreamPriorityCheck.ThrowIfUndefined(priority);
        ThrowIfDisposed();
        return new EmulatedStream(this, 0, ownedByDevice: false);
    }

    /// <inheritdoc/>
    public IDeviceStream WrapStream(nint nativeStream)
    {
        ThrowIfDisposed();
        return new EmulatedStream(this, nativeStream, ownedByDevice: false);
    }

    /// <inheritdoc/>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfDisposed();
        return new DeviceBuffer<T>(this, _memory.Allocate(checked(length * sizeof(T))), length, owning: true);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not inside a live allocation of this device.</exception>
    public DeviceBuffer<T> View<T>(ulong address, long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfDisposed();
        CheckRange(address, checked(length * sizeof(T)), nameof(address));
        return new DeviceBuffer<T>(this, address, length, owning: false);
    }

    /// <inheritdoc/>
    public DeviceKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        lock (_kernelLock)
        {
            if (_kernels.TryGetValue(name, out var known)) return known;
            _library ??= EmulatedKernelLibrary.GetOrLoad(_compiler, _cache, _translationUnits, _headers);
            if (!_library.TryGetKernel(name, out var launch, out var maxThreads))
            {
                var names = _library.KernelNames;
                throw new KeyNotFoundException(
                    $"No kernel is named '{name}'. Kernels: {(names.Count == 0 ? "(none)" : string.Join(", ", names))}.");
            }
            var kernel = new DeviceKernel(this, name, launch, Math.Min(maxThreads, MaxThreadsPerBlockLimit));
            _kernels.Add(name, kernel);
            return kernel;
        }
    }

    ulong IComputeDevice.AllocateBytes(long bytes)
    {
        ThrowIfDisposed();
        return _memory.Allocate(bytes);
    }

    void IComputeDevice.FreeBytes(ulong address)
    {
        if (!_disposed) _memory.Free(address);
    }

    /// <summary>Frees all memory of the device. The compiled kernel library stays loaded for the process.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _memory.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Throws when <paramref name="bytes"/> bytes from <paramref name="address"/> are not inside one live allocation of this device.</summary>
    internal void CheckRange(ulong address, long bytes, string argument)
    {
        if (!_memory.Contains(address, bytes))
            throw new ArgumentException(
                $"{bytes} bytes at 0x{address:x} are not inside a live allocation of {Name} (freed, out of range, or another device's memory).",
                argument);
    }

    internal void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Device != this) throw new ArgumentException($"Kernel {kernel.Name} belongs to {kernel.Device.Name}, not to this device.", nameof(kernel));
        CheckLaunchLimits(kernel, grid, block, dynamicSharedBytes);
        var config = new EmulatedLaunchConfig
        {
            GridX = grid.X, GridY = grid.Y, GridZ = grid.Z,
            BlockX = block.X, BlockY = block.Y, BlockZ = block.Z,
            DynamicSharedBytes = dynamicSharedBytes,
            WorkerThreads = _workerThreads,
            ExecutionOrder = ExecutionOrder,
            OrderSeed = _orderSeed,
        };
        var launch = (delegate* unmanaged<EmulatedLaunchConfig*, void**, int>)kernel.Handle;
        if (launch(&config, arguments) != 0) throw new EmulatedKernelException(kernel.Name, _library!.LastError());
        CheckGuards(kernel.Name);
    }

    internal void Gemm(in GemmDescriptor gemm)
    {
        CheckRange(gemm.Alpha, sizeof(float), "gemm.Alpha");
        CheckRange(gemm.Beta, sizeof(float), "gemm.Beta");
        if (gemm.M > 0 && gemm.N > 0 && gemm.K > 0)
        {
            CheckOperand(gemm.A, gemm.TypeA, gemm.OperationA, gemm.M, gemm.K, gemm.LeadingDimensionA, "gemm.A");
            CheckOperand(gemm.B, gemm.TypeB, gemm.OperationB, gemm.K, gemm.N, gemm.LeadingDimensionB, "gemm.B");
        }
        if (gemm.M > 0 && gemm.N > 0)
            CheckOperand(gemm.C, gemm.TypeC, GemmOperation.None, gemm.M, gemm.N, gemm.LeadingDimensionC, "gemm.C");
        CpuGemm.Gemm(gemm.OperationA, gemm.OperationB, gemm.M, gemm.N, gemm.K, *(float*)gemm.Alpha,
            (void*)gemm.A, gemm.TypeA, gemm.LeadingDimensionA, (void*)gemm.B, gemm.TypeB, gemm.LeadingDimensionB,
            *(float*)gemm.Beta, (void*)gemm.C, gemm.TypeC, gemm.LeadingDimensionC);
        CheckGuards("Gemm");
    }

    private void CheckOperand(ulong address, DType type, GemmOperation operation, int rows, int columns, int leadingDimension, string argument)
    {
        // op(X) is rows × columns; X itself is stored column-major with the transposed shape when op transposes.
        var (storedRows, storedColumns) = operation == GemmOperation.None ? (rows, columns) : (columns, rows);
        if (leadingDimension < storedRows)
            throw new ArgumentOutOfRangeException(argument, leadingDimension, $"Leading dimension must be at least {storedRows}.");
        CheckRange(address, ((long)(storedColumns - 1) * leadingDimension + storedRows) * type.SizeOf(), argument);
    }

    private static void CheckLaunchLimits(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes)
    {
        CheckDimension(grid.X, int.MaxValue, "grid.X");
        CheckDimension(grid.Y, ushort.MaxValue, "grid.Y");
        CheckDimension(grid.Z, ushort.MaxValue, "grid.Z");
        CheckDimension(block.X, MaxThreadsPerBlockLimit, "block.X");
        CheckDimension(block.Y, MaxThreadsPerBlockLimit, "block.Y");
        CheckDimension(block.Z, 64, "block.Z");
        if (block.Volume > (ulong)kernel.MaxThreadsPerBlock)
            throw new ArgumentOutOfRangeException(nameof(block), block,
                $"Kernel {kernel.Name} takes at most {kernel.MaxThreadsPerBlock} threads per block; {block.Volume} were asked for.");
        if (dynamicSharedBytes is < 0 or > MaxDynamicSharedBytes)
            throw new ArgumentOutOfRangeException(nameof(dynamicSharedBytes), dynamicSharedBytes,
                $"Dynamic shared memory of kernel {kernel.Name} must be between 0 and {MaxDynamicSharedBytes} bytes.");
    }

    private static void CheckDimension(uint value, uint limit, string name)
    {
        if (value < 1 || value > limit)
            throw new ArgumentOutOfRangeException(name, value, $"Launch dimension {name} must be between 1 and {limit}.");
    }

    private void CheckGuards(string operation)
    {
        if (_memory.FindOverwrittenGuard() is { } damage) throw new EmulatedKernelException(operation, damage);
    }
}
