using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>A loaded <see cref="KernelImage"/> and the kernels found in it by name.</summary>
internal sealed unsafe class CudaModule : IDisposable
{
    private const int JitLogBytes = 16 * 1024;

    private readonly CudaComputeDevice _device;
    private readonly Owner _owner;
    private readonly ConcurrentDictionary<string, DeviceKernel?> _kernels = new(StringComparer.Ordinal);

    internal CudaModule(CudaComputeDevice device, KernelImage image)
    {
        _device = device;
        Image = image;
        using var current = device.Context.Enter();
        _owner = new Owner(device.Context, Load(image));
    }

    /// <summary>The image this module was loaded from.</summary>
    public KernelImage Image { get; }

    /// <summary>True once unloaded.</summary>
    public bool IsDisposed => _owner.IsFreed;

    /// <summary>The kernel with this <c>extern "C"</c> name.</summary>
    /// <exception cref="KeyNotFoundException">The module has no such kernel.</exception>
    public DeviceKernel GetKernel(string name) =>
        TryGetKernel(name) ?? throw new KeyNotFoundException($"Module {Image.ProgramName} has no kernel named '{name}'.");

    /// <summary>The kernel with this name, or null.</summary>
    public DeviceKernel? TryGetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return _kernels.GetOrAdd(name, Find);
    }

    private DeviceKernel? Find(string name)
    {
        using var current = _device.Context.Enter();
        CuFunctionHandle function;
        var nameText = Marshal.StringToCoTaskMemUTF8(name);
        try
        {
            var found = CuDriver.cuModuleGetFunction(&function, _owner.Module, (byte*)nameText);
            if (found == CuResult.NotFound) return null;
            found.ThrowIfFailed();
        }
        finally
        {
            Marshal.FreeCoTaskMem(nameText);
        }
        int maxThreads, staticShared;
        CuDriver.cuFuncGetAttribute(&maxThreads, CuFunctionAttribute.MaxThreadsPerBlock, function).ThrowIfFailed();
        CuDriver.cuFuncGetAttribute(&staticShared, CuFunctionAttribute.SharedSizeBytes, function).ThrowIfFailed();
        var kernel = new DeviceKernel(_device, name, function.Value, maxThreads);
        _device.RegisterKernel(kernel, this, staticShared);
        return kernel;
    }

    private static CuModuleHandle Load(KernelImage image)
    {
        // The driver reads PTX as a C string; NVRTC's PTX ends with its NUL, a cached copy does too.
        var bytes = image.Bytes.Span;
        byte[] data = image.Format == KernelImageFormat.Ptx && (bytes.IsEmpty || bytes[^1] != 0) ? [.. bytes, 0] : bytes.ToArray();
        var errorLog = new byte[JitLogBytes];
        var infoLog = new byte[JitLogBytes];
        CuModuleHandle module;
        CuResult loaded;
        fixed (byte* image0 = data)
        fixed (byte* error = errorLog)
        fixed (byte* info = infoLog)
        {
            CuJitOption* options = stackalloc CuJitOption[] { CuJitOption.ErrorLogBuffer, CuJitOption.ErrorLogBufferSizeBytes, CuJitOption.InfoLogBuffer, CuJitOption.InfoLogBufferSizeBytes };
            void** values = stackalloc void*[] { error, (void*)JitLogBytes, info, (void*)JitLogBytes };
            loaded = CuDriver.cuModuleLoadDataEx(&module, image0, 4, options, values);
        }
        if (loaded != CuResult.Success)
        {
            var failure = StatusChecks.DriverException(loaded, $"cuModuleLoadDataEx({image})");
            string log = Encoding.UTF8.GetString(errorLog, 0, Math.Max(0, Array.IndexOf(errorLog, (byte)0))).Trim();
            throw log.Length == 0 ? failure : new CudaException(failure.Code, failure.Name, $"{failure.Text}; JIT log: {log}", failure.Call);
        }
        return module;
    }

    /// <summary>Unloads the module; its kernels can no longer be launched.</summary>
    public void Dispose() => _owner.Dispose();

    /// <inheritdoc/>
    public override string ToString() => $"module {Image}";

    private sealed class Owner(CudaContext context, CuModuleHandle module) : ContextChild(context)
    {
        public CuModuleHandle Module { get; } = module;

        protected override void FreeNative() => _ = CuDriver.cuModuleUnload(Module);
    }
}
