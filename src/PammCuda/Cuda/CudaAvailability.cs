namespace PammCuda.Cuda;

/// <summary>Whether CUDA can be used in this process, and why not when it cannot.</summary>
/// <param name="IsAvailable">True when a driver is loaded, initialised and sees at least one device, and NVRTC and cuBLAS load.</param>
/// <param name="Reason">Why CUDA is unavailable ("no CUDA device", the library search, "driver too old"), or a summary when available.</param>
/// <param name="DeviceCount">Devices the driver sees (0 when there is no driver to ask, or it failed).</param>
/// <param name="DriverVersion">The CUDA version the driver supports, e.g. 13.0; null when no driver could be asked.</param>
/// <param name="DriverLibrary">The driver library that was loaded, or null.</param>
public sealed record CudaAvailability(bool IsAvailable, string Reason, int DeviceCount, Version? DriverVersion, string? DriverLibrary);
