namespace PammCuda.Native;

/// <summary>What a <c>pamm_compressed</c> handle stands for: a compressed activation and, for a GPU one, the engine that made it.</summary>
internal sealed class CompressedHandle(ICompressedActivation activation, EngineHandle? engine)
{
    public ICompressedActivation Activation { get; } = activation;

    /// <summary>The engine that made it; null for one made by the CPU backend.</summary>
    public EngineHandle? Engine { get; } = engine;

    public bool IsOnGpu => Engine is not null;

    /// <summary>Frees the activation's device memory, if any. Never throws.</summary>
    public void Release() => (Activation as IDisposable)?.Dispose();
}
