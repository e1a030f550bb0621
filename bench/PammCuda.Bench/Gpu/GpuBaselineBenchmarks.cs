using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// What the engine is compared with, in the same run and on the same stream: cuBLAS's exact Xᵀ G through the engine's
/// <see cref="PammEngine.ExactMatmul{T, TG, TOut}"/> (strict fp32 SGEMM, TF32, and bf16 GemmEx with float32
/// accumulation, each writing its output in its input type) and a device-to-device copy of X and of G, the bandwidth limit.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet frees the fields in [GlobalCleanup]; it subclasses benchmark classes and never disposes them.")]
public class GpuBaselineBenchmarks() : ShapedBenchmarks(ShapeSets.Gpu)
{
    private PammEngine? _engine;
    private DeviceTimer? _timer;
    private Operands<float>? _float32;
    private Operands<BFloat16>? _bfloat16;

    /// <summary>Uploads X and G in both element types (BenchmarkDotNet's warm-up runs each GEMM before its measured iterations).</summary>
    [GlobalSetup]
    public void Setup()
    {
        var device = GpuSession.Device;
        var stream = GpuSession.Stream;
        _engine = new PammEngine(device, stream: stream);
        _timer = GpuSession.CreateTimer();
        _float32 = new Operands<float>(device, stream, Rows, Width);
        _bfloat16 = new Operands<BFloat16>(device, stream, Rows, Width);
        stream.Synchronize();
    }

    /// <summary>Frees the device memory of the case.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _float32?.Dispose();
        _bfloat16?.Dispose();
        _engine?.Dispose();
        _float32 = null;
        _bfloat16 = null;
        _engine = null;
    }

    /// <summary>cuBLAS SGEMM, strict fp32.</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.Float32, IsReference = true)]
    public void SgemmFp32() => Time(nameof(SgemmFp32), DType.Float32, () => Float32.Exact(Engine, allowTf32: false));

    /// <summary>cuBLAS SGEMM with TF32 tensor cores allowed.</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.Float32)]
    public void SgemmTf32() => Time(nameof(SgemmTf32), DType.Float32, () => Float32.Exact(Engine, allowTf32: true));

    /// <summary>cuBLAS GemmEx on bf16 inputs with float32 accumulation, bf16 output.</summary>
    [Benchmark]
    [Measures(Operation.ExactGemm, DType.BFloat16, IsReference = true)]
    public void GemmExBf16() => Time(nameof(GemmExBf16), DType.BFloat16, () => BFloat16Operands.Exact(Engine, allowTf32: false));

    /// <summary>Device-to-device copy of X and of G in float32.</summary>
    [Benchmark]
    [Measures(Operation.Copy, DType.Float32, IsReference = true)]
    public void CopyFloat32() => Time(nameof(CopyFloat32), DType.Float32, () => Float32.Copy(GpuSession.Stream));

    /// <summary>Device-to-device copy of X and of G in bfloat16.</summary>
    [Benchmark]
    [Measures(Operation.Copy, DType.BFloat16, IsReference = true)]
    public void CopyBFloat16() => Time(nameof(CopyBFloat16), DType.BFloat16, () => BFloat16Operands.Copy(GpuSession.Stream));

    private void Time(string method, DType dtype, Action work)
    {
        var timer = _timer ?? throw new InvalidOperationException("GlobalSetup has not run.");
        timer.Time(CaseRecords.DeviceTimes(new CaseKey(new ShapeKey(typeof(GpuBaselineBenchmarks), Width, Rows, 0, dtype), method)), work);
    }

    private PammEngine Engine => _engine ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private Operands<float> Float32 => _float32 ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private Operands<BFloat16> BFloat16Operands => _bfloat16 ?? throw new InvalidOperationException("GlobalSetup has not run.");

    private sealed class Operands<T> : IDisposable where T : unmanaged
    {
        private readonly int _rows;
        private readonly int _width;
        private readonly DeviceBuffer<T> _x;
        private readonly DeviceBuffer<T> _g;
        private readonly DeviceBuffer<T> _output;
        private readonly DeviceBuffer<T> _xCopy;
        private readonly DeviceBuffer<T> _gCopy;

        public Operands(IComputeDevice device, IDeviceStream stream, int rows, int width)
        {
            _rows = rows;
            _width = width;
            long elements = (long)rows * width;
            _x = device.Allocate<T>(elements);
            _g = device.Allocate<T>(elements);
            _output = device.Allocate<T>((long)width * width);
            _xCopy = device.Allocate<T>(elements);
            _gCopy = device.Allocate<T>(elements);
            _x.CopyFrom(HostData.SharedUniform<T>(elements, seed: 1), stream);
            _g.CopyFrom(HostData.SharedUniform<T>(elements, seed: 2), stream);
        }

        public void Exact(PammEngine engine, bool allowTf32) =>
            engine.ExactMatmul(_x, _rows, _width, _g, _width, _output, allowTf32: allowTf32);

        public void Copy(IDeviceStream stream)
        {
            _x.CopyToAsync(_xCopy, stream);
            _g.CopyToAsync(_gCopy, stream);
        }

        public void Dispose()
        {
            foreach (var buffer in new[] { _x, _g, _output, _xCopy, _gCopy })
                buffer.Dispose();
        }
    }
}
