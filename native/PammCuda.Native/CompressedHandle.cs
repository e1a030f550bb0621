using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>What a <c>pamm_compressed</c> handle stands for: a compressed activation and, for a GPU one, the engine that made it.</summary>
internal sealed class CompressedHandle(ICompressedActivation activation, EngineHandle? engine)
{
    public ICompressedActivation Activation { get; } = activation;

    /// <summary>The engine that made it; null for one made by the CPU backend.</summary>
    public EngineHandle? Engine { get; } = engine;

    public bool IsOnGpu => Engine is not null;

    /// <summary>
    /// Whether <paramref name="engine"/>'s products may read it: its own engine always; another engine of the same device
    /// when it lies in caller storage (engine storage is recycled in its own stream's order only).
    /// </summary>
    public bool IsUsableBy(EngineHandle engine) =>
        ReferenceEquals(Engine, engine)
        || (Activation is GpuCompressedActivation { OwnsStorage: false } gpu && ReferenceEquals(gpu.Engine.Device, engine.Engine.Device));

    /// <summary>Ends the activation without waiting: engine storage goes back to the engine for reuse in stream order, caller storage is left alone. Never throws.</summary>
    public void Release() => (Activation as IDisposable)?.Dispose();
}
