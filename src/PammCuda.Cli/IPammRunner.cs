namespace PammCuda.Cli;

/// <summary>
/// One backend as the command line drives it: compress X, form the approximate product with G and
/// the exact product, and time the three: <see cref="CpuRunner"/> and <see cref="DeviceRunner"/> (a GPU or the
/// emulated device). Adding a backend is one more implementation.
/// </summary>
internal interface IPammRunner
{
    /// <summary>The backend, e.g. "CPU (PammCuda.Cpu.CpuPamm)".</summary>
    string Backend { get; }

    /// <summary>The device it runs on, as a person would name it.</summary>
    string Device { get; }

    /// <summary>Runs every step <paramref name="repeat"/> times and keeps the fastest time of each.</summary>
    PammMeasurement Measure<T, TG>(HostMatrix<T> x, HostMatrix<TG> g, PammOptions options, ProductLayout layout, int repeat)
        where T : unmanaged
        where TG : unmanaged;
}
