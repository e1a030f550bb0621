using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Cli;

/// <summary>
/// Runs PAMM with the GPU engine, <see cref="PammEngine"/>, on a CUDA GPU or on the emulated device.
/// X and G are uploaded once and the products downloaded once, outside the timed steps; compression,
/// the approximate product and the exact product (cuBLAS, float32, no TF32) are timed by events on the
/// engine's stream. Owns the device and frees it when disposed.
/// </summary>
internal sealed class DeviceRunner(IComputeDevice device) : IPammRunner, IDisposable
{
    public string Backend => "GPU engine (PammCuda.Engine.PammEngine)";

    public string Device => device.Name;

    public PammMeasurement Measure<T, TG>(HostMatrix<T> x, HostMatrix<TG> g, PammOptions options, ProductLayout layout, int repeat)
        where T : unmanaged
        where TG : unmanaged
    {
        using var engine = new PammEngine(device, options);
        IDeviceStream stream = engine.Stream;
        using DeviceBuffer<T> xBuffer = Upload(x.Data, stream);
        using DeviceBuffer<TG> gBuffer = Upload(g.Data, stream);
        long productLength = (long)x.Columns * g.Columns;
        using DeviceBuffer<float> approximate = device.Allocate<float>(productLength);
        using DeviceBuffer<float> exact = device.Allocate<float>(productLength);

        (GpuCompressedActivation compressed, TimeSpan compressTime) = CompressFastest(engine, xBuffer, x.Rows, x.Columns, repeat);
        using (compressed)
        {
            TimeSpan approximateTime = DeviceStepTimer.Fastest(stream, repeat,
                () => engine.ApproxMatmul(compressed, gBuffer, g.Columns, approximate, layout));
            TimeSpan exactTime = DeviceStepTimer.Fastest(stream, repeat,
                () => engine.ExactMatmul(xBuffer, x.Rows, x.Columns, gBuffer, g.Columns, exact, layout));
            return new PammMeasurement(CompressedSummary.Of(compressed), approximate.ToArray(stream), exact.ToArray(stream),
                compressTime, approximateTime, exactTime);
        }
    }

    public void Dispose() => device.Dispose();

    private DeviceBuffer<TElement> Upload<TElement>(TElement[] data, IDeviceStream stream) where TElement : unmanaged
    {
        DeviceBuffer<TElement> buffer = device.Allocate<TElement>(data.LongLength);
        try
        {
            buffer.CopyFrom(data, stream);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    // Each repetition's compressed form replaces the previous one, which is freed outside the timed region.
    private static (GpuCompressedActivation Compressed, TimeSpan Fastest) CompressFastest<T>(
        PammEngine engine, DeviceBuffer<T> x, int rows, int columns, int repeat)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        GpuCompressedActivation? compressed = null;
        TimeSpan fastest = TimeSpan.MaxValue;
        try
        {
            for (int i = 0; i < repeat; i++)
            {
                compressed?.Dispose();
                compressed = null;
                TimeSpan elapsed = DeviceStepTimer.Time(engine.Stream, () => compressed = engine.Compress(x, rows, columns));
                if (elapsed < fastest) fastest = elapsed;
            }
            return (compressed!, fastest);
        }
        catch
        {
            compressed?.Dispose();
            throw;
        }
    }
}
