using System.Runtime.InteropServices;

namespace PammCuda.Emulation;

/// <summary>The launch description a kernel trampoline receives: <c>pamm_emu_launch_config</c> of <c>pamm_emu.h</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct EmulatedLaunchConfig
{
    public uint GridX;
    public uint GridY;
    public uint GridZ;
    public uint BlockX;
    public uint BlockY;
    public uint BlockZ;
    public int DynamicSharedBytes;
    public int WorkerThreads;
    public EmulatedExecutionOrder ExecutionOrder;
    public uint OrderSeed;
}
