namespace PammCuda.Devices;

/// <summary>
/// A kernel as <c>kernels/</c> declares it: its name, the thread count of its <c>__launch_bounds__</c> and the kinds of its
/// parameters in order. Read from the sources by <see cref="KernelSources.Declarations"/>, so launches are checked against
/// the CUDA text itself rather than against a second copy of it.
/// </summary>
/// <param name="Name">The <c>extern "C"</c> name.</param>
/// <param name="LaunchBoundsThreads">The block size the kernel is written for (its <c>__launch_bounds__</c>).</param>
/// <param name="Parameters">Each parameter's name and kind, in declaration order.</param>
internal sealed record KernelDeclaration(string Name, int LaunchBoundsThreads, IReadOnlyList<(string Name, KernelParameterKind Kind)> Parameters)
{
    /// <summary>
    /// Throws unless <paramref name="arguments"/> match the parameters one for one and <paramref name="block"/> has exactly
    /// <see cref="LaunchBoundsThreads"/> threads: the kernels derive their work split from that count.
    /// </summary>
    /// <exception cref="InvalidOperationException">A mismatch; the message names the kernel and what differs.</exception>
    public void CheckLaunch(Dim3 block, ReadOnlySpan<KernelArgument> arguments)
    {
        long threads = (long)block.X * block.Y * block.Z;
        if (threads != LaunchBoundsThreads)
            throw new InvalidOperationException(
                $"{Name} is launched with {threads} threads per block but declares __launch_bounds__({LaunchBoundsThreads}).");
        if (arguments.Length != Parameters.Count)
            throw new InvalidOperationException(
                $"{Name} takes {Parameters.Count} arguments ({string.Join(", ", Parameters.Select(p => p.Name))}) but was given {arguments.Length}.");
        for (int i = 0; i < arguments.Length; i++)
            if (arguments[i].Kind != Parameters[i].Kind)
                throw new InvalidOperationException(
                    $"{Name} argument {i} ({Parameters[i].Name}) is {Parameters[i].Kind} but was given {arguments[i].Kind}.");
    }
}
