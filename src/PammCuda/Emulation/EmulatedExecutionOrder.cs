namespace PammCuda.Emulation;

/// <summary>
/// The order in which the emulated device hands the blocks of a grid to its worker threads and runs the threads of a
/// block between two barriers or warp collectives: each thread runs until it reaches one, then the next takes its turn
/// (<c>pamm_emu_runtime.cpp</c>). A GPU promises neither order, so a race-free kernel writes the same bits in every
/// order; one that reads what another thread of its block writes with no barrier between them reads it in one order and
/// misses it in another, and one whose result depends on which blocks run first gets another result. Running the same
/// work under <see cref="Ascending"/> and another order and comparing the outputs bitwise is the emulator's race check.
/// </summary>
/// <remarks>The values are <c>pamm_emu_launch_config::execution_order</c>'s in <c>pamm_emu.h</c>.</remarks>
internal enum EmulatedExecutionOrder
{
    /// <summary>Block 0 first, then 1, 2, …; in a block, thread 0 first: the default.</summary>
    Ascending = 0,

    /// <summary>The last block of the grid first, and the last thread of a block.</summary>
    Descending = 1,

    /// <summary>
    /// The blocks in a permutation of the grid drawn once a launch, and a block's threads in a permutation drawn anew for
    /// every round of turns, both from the device's order seed.
    /// </summary>
    Shuffled = 2,
}
