namespace PammCuda.Emulation;

/// <summary>
/// The order in which the emulated device runs the threads of a block between two barriers or warp collectives: each
/// thread runs until it reaches one, then the next takes its turn (<c>pamm_emu_runtime.cpp</c>). A GPU promises no
/// order, so a kernel free of shared-memory races writes the same bits in every order; one that reads what another thread
/// of its block writes with no barrier between them reads it in one order and misses it in another. Running the same
/// work under <see cref="Ascending"/> and another order and comparing the outputs bitwise is the emulator's race check.
/// </summary>
/// <remarks>The values are <c>pamm_emu_launch_config::thread_order</c>'s in <c>pamm_emu.h</c>.</remarks>
internal enum EmulatedThreadOrder
{
    /// <summary>Thread 0 first, then 1, 2, …: the default.</summary>
    Ascending = 0,

    /// <summary>The last thread of the block first.</summary>
    Descending = 1,

    /// <summary>A permutation drawn anew for every round of turns of every block, from the device's order seed.</summary>
    Shuffled = 2,
}
