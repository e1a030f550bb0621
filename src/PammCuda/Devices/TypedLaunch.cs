namespace PammCuda.Devices;

/// <summary>
/// Launches by kernel name with typed arguments: the arguments and the block size are checked against the kernel's
/// declaration in <c>kernels/</c> (<see cref="KernelDeclaration.CheckLaunch"/>) before anything is queued, then packed
/// into the pointer array <see cref="IDeviceStream.Launch"/> takes, on the stack.
/// </summary>
internal static class TypedLaunch
{
    /// <summary>Most parameters a kernel of <c>kernels/</c> may have (the stack arrays' size).</summary>
    public const int MaxArguments = 16;

    /// <summary>Queues <paramref name="kernel"/> on <paramref name="stream"/> with no dynamic shared memory.</summary>
    /// <exception cref="KeyNotFoundException">No kernel of that name in <c>kernels/</c>.</exception>
    /// <exception cref="InvalidOperationException">The arguments or the block size do not match the kernel's declaration.</exception>
    public static unsafe void Launch(this IDeviceStream stream, string kernel, Dim3 grid, Dim3 block, params ReadOnlySpan<KernelArgument> arguments)
    {
        if (!KernelSources.Declarations.TryGetValue(kernel, out var declaration))
            throw new KeyNotFoundException($"No kernel named '{kernel}' is declared in kernels/.");
        declaration.CheckLaunch(block, arguments);
        if (arguments.Length > MaxArguments)
            throw new InvalidOperationException($"{kernel} has {arguments.Length} parameters; the launcher packs at most {MaxArguments}.");

        ulong* values = stackalloc ulong[MaxArguments];
        void** pointers = stackalloc void*[MaxArguments];
        for (int i = 0; i < arguments.Length; i++)
        {
            values[i] = arguments[i].Bits;
            pointers[i] = &values[i];
        }
        stream.Launch(stream.Device.GetKernel(kernel), grid, block, 0, pointers);
    }
}
