using System.Runtime.InteropServices;
using PammCuda.Cpu;

namespace PammCuda.Cli;

/// <summary>Runs PAMM with the CPU backend, <see cref="CpuPamm"/>, on every core.</summary>
internal sealed class CpuRunner : IPammRunner
{
    public string Backend => "CPU (PammCuda.Cpu.CpuPamm)";

    public string Device => $"{Environment.ProcessorCount} {RuntimeInformation.ProcessArchitecture} threads, {CpuPamm.VectorBits}-bit vectors";

    public PammMeasurement Measure<T, TG>(HostMatrix<T> x, HostMatrix<TG> g, PammOptions options, ProductLayout layout, int repeat)
        where T : unmanaged
        where TG : unmanaged
    {
        CpuCompressedActivation<T>? compressed = null;
        TimeSpan compressTime = StepTimer.Fastest(repeat, () => compressed = CpuPamm.Compress<T>(x.Data, x.Rows, x.Columns, options));

        var approximate = new float[(long)x.Columns * g.Columns];
        TimeSpan approximateTime = StepTimer.Fastest(repeat, () => CpuPamm.ApproxMatmul<T, TG, float>(compressed!, g.Data, g.Columns, approximate, layout));

        var exact = new float[approximate.LongLength];
        TimeSpan exactTime = StepTimer.Fastest(repeat, () => CpuPamm.ExactMatmul<T, TG, float>(x.Data, x.Rows, x.Columns, g.Data, g.Columns, exact, layout));

        return new PammMeasurement(compressed!, approximate, exact, compressTime, approximateTime, exactTime);
    }
}
