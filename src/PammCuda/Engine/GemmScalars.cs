using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The float32 scalars the engine's GEMMs read in device pointer mode: the constants 1 and 0, and a product's
/// <see cref="ProductScale"/> a·β and <see cref="OutputScale"/> c (the GEMM's "alpha" and "beta", named here for what
/// they hold, not to be confused with PAMM's α and β), which <see cref="PammKernels.ProductScalars"/> writes as a pair
/// before each product, so that β, computed from η on the device, never makes a round trip to the host.
/// </summary>
internal sealed class GemmScalars : IDisposable
{
    private readonly DeviceBuffer<float> _values;

    /// <summary>Allocates the scalars and queues their initial values (1, 0, a·β = 1, c = 0) on <paramref name="stream"/>.</summary>
    public GemmScalars(IComputeDevice device, IDeviceStream stream)
    {
        _values = device.Allocate<float>(4);
        try
        {
            _values.CopyFrom([1f, 0f, 1f, 0f], stream);
        }
        catch
        {
            _values.Dispose();
            throw;
        }
    }

    /// <summary>1.</summary>
    public ulong One => Address(0);

    /// <summary>0.</summary>
    public ulong Zero => Address(1);

    /// <summary>a·β, the weight of the product (the GEMM's alpha), with <see cref="OutputScale"/> right after it.</summary>
    public ulong ProductScale => Address(2);

    /// <summary>c, the weight of the output's old value (the GEMM's beta).</summary>
    public ulong OutputScale => Address(3);

    /// <summary>Frees the scalars.</summary>
    public void Dispose() => _values.Dispose();

    private ulong Address(int index) => _values.Address + (ulong)(index * sizeof(float));
}
