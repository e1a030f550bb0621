namespace PammCuda.Devices;

/// <summary>A GPU operation was asked for where CUDA cannot be used; the message says why (library missing, no device, driver too old).</summary>
public sealed class DeviceUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception with the reason.</summary>
    public DeviceUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public DeviceUnavailableException(string message, Exception inner) : base(message, inner) { }
}
