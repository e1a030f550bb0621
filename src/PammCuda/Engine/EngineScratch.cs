using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The engine's own reusable scratch, used when a caller provides no workspace: one grow-only block that compressions
/// and products carve as <see cref="CompressWorkspace"/> and <see cref="ProductWorkspace"/> lay it out (one call's work
/// at a time, in stream order), and the operand copies and scalars of the exact reference product. None of it outlives a
/// call's work. Nothing is allocated until first needed.
/// </summary>
internal sealed class EngineScratch : IDisposable
{
    public EngineScratch(IComputeDevice device, IDeviceStream stream)
    {
        Workspace = new(device, stream);
        WideInput = new(device, stream);
        WideGradient = new(device, stream);
        Product = new(device, stream);
        ExactScalars = new(device, stream);
    }

    /// <summary>The workspace of compressions, products and generator sampling when the caller gives none.</summary>
    public GrowOnlyBuffer Workspace { get; }

    /// <summary>A 16-bit X widened to float32 (exact products with mixed operand types).</summary>
    public GrowOnlyBuffer WideInput { get; }

    /// <summary>A 16-bit gradient widened to float32 (exact products with mixed operand types).</summary>
    public GrowOnlyBuffer WideGradient { get; }

    /// <summary>A float32 exact product before it is rounded into a 16-bit output.</summary>
    public GrowOnlyBuffer Product { get; }

    /// <summary>The exact product's GEMM scalars (<see cref="ProductScalars"/>).</summary>
    public GrowOnlyBuffer ExactScalars { get; }

    public void Dispose()
    {
        Workspace.Dispose();
        WideInput.Dispose();
        WideGradient.Dispose();
        Product.Dispose();
        ExactScalars.Dispose();
    }
}
