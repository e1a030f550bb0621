namespace PammCuda.Cuda;

/// <summary>Whether NVRTC can be loaded in this process (it needs no GPU).</summary>
/// <param name="IsAvailable">True when a libnvrtc loaded and answered its version.</param>
/// <param name="Reason">The library search when it did not load, or the version and path when it did.</param>
/// <param name="Version">NVRTC's version (e.g. 11.8, 13.0), or null.</param>
public sealed record NvrtcAvailability(bool IsAvailable, string Reason, Version? Version);
