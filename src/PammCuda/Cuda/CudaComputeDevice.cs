using System.Collections.Concurrent;
using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// <see cref="IComputeDevice"/> on a CUDA GPU, in the device's primary context (so a framework's pointers and
/// streams on the same device work here). Kernels of <c>kernels/</c> are compiled by NVRTC for the device's own
/// architecture on first use and cached on disk; GEMMs go to cuBLAS.
/// </summary>
public sealed unsafe class CudaComputeDevice : IComputeDevice
{
    private readonly KernelCompiler _compiler;
    private readonly Lazy<IReadOnlyDictionary<string, CudaModule>> _embeddedKernels;
    private readonly ConcurrentDictionary<nint, KernelLaunchInfo> _kernels = new();
    private readonly Lock _blasGate = new();
    private CudaBlasHandle? _blas;

    /// <summary>Opens the GPU with ordinal <paramref name="ordinal"/>; its kernels are compiled once into the default cache folder.</summary>
    /// <param name="ordinal">Which GPU (0 = the first visible one).</param>
    /// <exception cref="DeviceUnavailableException">CUDA cannot be used here; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException">There is no GPU with that ordinal.</exception>
    public CudaComputeDevice(int ordinal = 0)
        : this(ordinal, compiler: null)
    {
    }

    /// <summary>Opens the GPU with ordinal <paramref name="ordinal"/>.</summary>
    /// <param name="ordinal">Which GPU (0 = the first visible one).</param>
    /// <param name="compiler">The compile pipeline for the embedded kernels; default caches in the default folder.</param>
    /// <exception cref="DeviceUnavailableException">CUDA cannot be used here; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException">There is no GPU with that ordinal.</exception>
    internal CudaComputeDevice(int ordinal, KernelCompiler? compiler)
    {
        CudaRuntime.EnsureAvailable();
        Gpu = CudaDevice.Get(ordinal);
        Context = new CudaContext(Gpu);
        _compiler = compiler ?? new KernelCompiler();
        DefaultStream = CudaStream.Wrap(this, 0);
        _embeddedKernels = new Lazy<IReadOnlyDictionary<string, CudaModule>>(LoadEmbeddedKernels);
    }

    /// <summary>
    /// The process's shared CUDA devices, one per ordinal, reference-counted: what the C ABI's engines use, so that kernels
    /// are compiled and loaded once per GPU whatever the number of engines and streams.
    /// </summary>
    public static SharedDeviceRegistry Shared { get; } = new(ordinal => new CudaComputeDevice(ordinal));

    /// <summary>The GPU this device runs on and its attributes (name, memory, compute capability, limits).</summary>
    public CudaDevice Gpu { get; }

    /// <summary>The primary context everything of this device lives in.</summary>
    internal CudaContext Context { get; }

    /// <summary>
    /// The device's cuBLAS handle, made at its first GEMM on any stream (a failed attempt is retried at the next); the
    /// streams of the device share it where <see cref="CudaBlasHandle.ServesEveryStream"/>, so that a stream first used
    /// inside a CUDA graph capture creates no handle there.
    /// </summary>
    internal CudaBlasHandle Blas
    {
        get
        {
            lock (_blasGate)
                return _blas ??= new CudaBlasHandle(Context);
        }
    }

    /// <inheritdoc/>
    public string Name => Gpu.ToString();

    /// <inheritdoc/>
    public bool IsEmulated => false;

    /// <inheritdoc/>
    public long TotalMemoryBytes => Gpu.TotalMemoryBytes;

    /// <summary>The legacy default stream (handle 0), which orders itself with every blocking stream of the context.</summary>
    public IDeviceStream DefaultStream { get; }

    /// <inheritdoc/>
    public IDeviceStream CreateStream(StreamPriority priority = StreamPriority.Normal) => CudaStream.Create(this, priority);

    /// <inheritdoc/>
    public IDeviceStream WrapStream(nint nativeStream)
    {
        using var current = Context.Enter();
        return CudaStream.Wrap(this, nativeStream);
    }

    /// <inheritdoc/>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ulong address = length == 0 ? 0 : Context.Allocate(checked(length * sizeof(T)));
        return new DeviceBuffer<T>(this, address, length, owning: true);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">
    /// <paramref name="address"/> is not device memory of this context, or the allocation it lies in ends before
    /// <paramref name="length"/> elements.
    /// </exception>
    public DeviceBuffer<T> View<T>(ulong address, long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > 0) CheckForeignPointer(address, checked(length * sizeof(T)));
        return new DeviceBuffer<T>(this, address, length, owning: false);
    }

    /// <summary>Page-locked host memory for asynchronous copies.</summary>
    public PinnedHostBuffer<T> AllocatePinned<T>(long length) where T : unmanaged => new(Context, length);

    /// <summary>Loads a compiled image (e.g. from <see cref="KernelCompiler.Compile"/>) into this device's context.</summary>
    internal CudaModule LoadModule(KernelImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new CudaModule(this, image);
    }

    /// <inheritdoc/>
    public DeviceKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var kernels = _embeddedKernels.Value;
        if (kernels.TryGetValue(name, out var module)) return module.GetKernel(name);
        var available = kernels.Keys.Order(StringComparer.Ordinal);
        throw new KeyNotFoundException($"No kernel named '{name}' in kernels/. Available: {string.Join(", ", available.DefaultIfEmpty("(none)"))}.");
    }

    /// <summary>Blocks until all work on the device's context has finished; surfaces asynchronous errors.</summary>
    public void Synchronize() => Context.Synchronize();

    ulong IComputeDevice.AllocateBytes(long bytes) => Context.Allocate(bytes);

    void IComputeDevice.FreeBytes(ulong address) => Context.Free(address);

    /// <summary>Frees everything made on this device and releases its primary context.</summary>
    public void Dispose() => Context.Dispose();

    internal void RegisterKernel(DeviceKernel kernel, CudaModule module, int staticSharedBytes) =>
        _kernels[kernel.Handle] = new KernelLaunchInfo(module, staticSharedBytes, Gpu.MaxSharedMemoryPerBlock - staticSharedBytes);

    /// <summary>Checks a launch against the device's and the kernel's limits and opts in to the shared memory it needs.</summary>
    internal CuFunctionHandle PrepareLaunch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Device != this || !_kernels.TryGetValue(kernel.Handle, out var info))
            throw new ArgumentException($"Kernel {kernel.Name} belongs to {kernel.Device.Name}, not to this device.", nameof(kernel));
        ObjectDisposedException.ThrowIf(info.Module.IsDisposed, info.Module);
        var maxGrid = Gpu.MaxGridDimensions;
        var maxBlock = Gpu.MaxBlockDimensions;
        CheckDimension(grid.X, maxGrid.X, nameof(grid), "grid.X");
        CheckDimension(grid.Y, maxGrid.Y, nameof(grid), "grid.Y");
        CheckDimension(grid.Z, maxGrid.Z, nameof(grid), "grid.Z");
        CheckDimension(block.X, maxBlock.X, nameof(block), "block.X");
        CheckDimension(block.Y, maxBlock.Y, nameof(block), "block.Y");
        CheckDimension(block.Z, maxBlock.Z, nameof(block), "block.Z");
        int maxThreads = Math.Min(kernel.MaxThreadsPerBlock, Gpu.MaxThreadsPerBlock);
        if (block.Volume > (ulong)maxThreads)
            throw new ArgumentOutOfRangeException(nameof(block), block,
                $"block.X·block.Y·block.Z = {block.Volume} exceeds the {maxThreads} threads per block {kernel.Name} can be launched with.");
        int maxDynamic = Gpu.MaxSharedMemoryPerBlockOptIn - info.StaticSharedBytes;
        if (dynamicSharedBytes < 0 || dynamicSharedBytes > maxDynamic)
            throw new ArgumentOutOfRangeException(nameof(dynamicSharedBytes), dynamicSharedBytes,
                $"Dynamic shared memory must be in [0, {maxDynamic}] bytes for {kernel.Name} ({info.StaticSharedBytes} static bytes, {Gpu.MaxSharedMemoryPerBlockOptIn} per block at most).");

        var function = new CuFunctionHandle(kernel.Handle);
        if (dynamicSharedBytes > info.DynamicSharedLimit)
        {
            // Past the default per-block limit (48 KiB) a kernel must opt in, once, to the larger size.
            using var current = Context.Enter();
            CuDriver.cuFuncSetAttribute(function, CuFunctionAttribute.MaxDynamicSharedSizeBytes, dynamicSharedBytes).ThrowIfFailed();
            info.DynamicSharedLimit = dynamicSharedBytes;
        }
        return function;
    }

    private static void CheckDimension(uint value, uint max, string argument, string dimension)
    {
        if (value == 0 || value > max)
            throw new ArgumentOutOfRangeException(argument, value, $"{dimension} = {value} must be in [1, {max}].");
    }

    private void CheckForeignPointer(ulong address, long bytes)
    {
        if (address == 0) throw new ArgumentException("The address is null.", nameof(address));
        using var current = Context.Enter();
        CuContextHandle owner;
        var result = CuDriver.cuPointerGetAttribute(&owner, CuPointerAttribute.Context, address);
        if (result == CuResult.InvalidValue)
            throw new ArgumentException($"0x{address:x} is not device memory known to CUDA.", nameof(address));
        result.ThrowIfFailed();
        // Memory mapped through the virtual memory API reports no context; it cannot be checked further.
        if (owner.Value == 0) return;
        if (owner != Context.Handle)
            throw new ArgumentException($"0x{address:x} belongs to another CUDA context, not to {Context}.", nameof(address));
        ulong start;
        nuint size;
        if (CuDriver.cuPointerGetAttribute(&start, CuPointerAttribute.RangeStartAddress, address) == CuResult.Success
            && CuDriver.cuPointerGetAttribute(&size, CuPointerAttribute.RangeSize, address) == CuResult.Success
            && address - start + (ulong)bytes > size)
            throw new ArgumentException($"The allocation at 0x{start:x} ends {size - (nuint)(address - start)} bytes after 0x{address:x}; the view needs {bytes}.", "length");
    }

    // Each kernel is looked up only in the module of the unit that exports it: probing every module would
    // make the driver report CUDA_ERROR_NOT_FOUND, which compute-sanitizer counts as errors.
    private Dictionary<string, CudaModule> LoadEmbeddedKernels()
    {
        var units = KernelSources.TranslationUnits;
        var modules = _compiler.CompileAll(Gpu.ComputeCapability).Select(LoadModule).ToList();
        var byName = new Dictionary<string, CudaModule>(StringComparer.Ordinal);
        for (int i = 0; i < units.Count; i++)
            foreach (var kernel in KernelSources.ExportedKernels(units[i].Value))
                byName[kernel] = modules[i];
        return byName;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private sealed class KernelLaunchInfo(CudaModule module, int staticSharedBytes, int defaultDynamicSharedLimit)
    {
        private int _dynamicSharedLimit = defaultDynamicSharedLimit;

        public CudaModule Module { get; } = module;

        public int StaticSharedBytes { get; } = staticSharedBytes;

        /// <summary>Dynamic shared memory the kernel may use without another opt-in.</summary>
        public int DynamicSharedLimit
        {
            get => Volatile.Read(ref _dynamicSharedLimit);
            set => Volatile.Write(ref _dynamicSharedLimit, value);
        }
    }
}
