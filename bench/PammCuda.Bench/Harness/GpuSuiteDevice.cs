namespace PammCuda.Bench.Harness;

/// <summary>Which device the GPU suite runs on.</summary>
public enum GpuSuiteDevice
{
    /// <summary>The CUDA GPU at ordinal 0.</summary>
    Cuda,

    /// <summary>The emulated device: checks that the harness runs, measures nothing about GPUs.</summary>
    Emulated,
}
