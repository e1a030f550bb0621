using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Emulation;

/// <summary>
/// <see cref="EmulatedExecutionOrder"/>: the order in which the blocks run and a block's threads take their turns between
/// barriers, and why it matters — a read that no barrier orders after its write sees the write in one order and misses it
/// in another.
/// </summary>
[Requires(Need.Compiler)]
public sealed class EmulatedExecutionOrderTests
{
    private const int Blocks = 3, Threads = 64;

    [TestCase(false)]
    [TestCase(true)]
    public void Ascending_turns_go_by_thread_index_and_descending_ones_the_other_way(bool descending)
    {
        var order = descending ? EmulatedExecutionOrder.Descending : EmulatedExecutionOrder.Ascending;
        var turns = Turns(order, seed: 0);
        for (int block = 0; block < Blocks; block++)
        for (int round = 0; round < 2; round++)
        {
            int[] expected = [.. Enumerable.Range(0, Threads).Select(t => order == EmulatedExecutionOrder.Ascending ? t : Threads - 1 - t)];
            Assert.That(turns[block, round], Is.EqualTo(expected), $"block {block}, round {round}");
        }
    }

    [Test]
    public void Shuffled_turns_are_a_new_permutation_every_round_and_block_and_the_same_again_for_the_same_seed()
    {
        var turns = Turns(EmulatedExecutionOrder.Shuffled, seed: 1);
        int[] ascending = [.. Enumerable.Range(0, Threads)];
        Assert.Multiple(() =>
        {
            for (int block = 0; block < Blocks; block++)
            for (int round = 0; round < 2; round++)
            {
                Assert.That(turns[block, round].Order(), Is.EqualTo(ascending), "every thread takes one turn a round");
                Assert.That(turns[block, round], Is.Not.EqualTo(ascending).And.Not.EqualTo(ascending.Reverse()));
            }
            Assert.That(turns[0, 1], Is.Not.EqualTo(turns[0, 0]), "another round, another permutation");
            Assert.That(turns[1, 0], Is.Not.EqualTo(turns[0, 0]), "another block, another permutation");
            var again = Turns(EmulatedExecutionOrder.Shuffled, seed: 1);
            var otherSeed = Turns(EmulatedExecutionOrder.Shuffled, seed: 2);
            for (int block = 0; block < Blocks; block++)
            for (int round = 0; round < 2; round++)
            {
                Assert.That(again[block, round], Is.EqualTo(turns[block, round]), "the same seed, the same turns");
                Assert.That(otherSeed[block, round], Is.Not.EqualTo(turns[block, round]), "another seed, other turns");
            }
        });
    }

    [Test]
    public void One_worker_runs_the_blocks_in_the_order_ascending_descending_or_a_permutation_of_the_seed()
    {
        const int blocks = 50;
        int[] ascending = [.. Enumerable.Range(0, blocks)];
        int[] RunOrder(EmulatedExecutionOrder order, uint seed)
        {
            using var device = Open(order, seed, workerThreads: 1);
            using var ticket = device.Allocate<uint>(1);
            ticket.CopyFrom([0u]);
            using var output = device.Allocate<uint>(blocks);
            Launch(device, "emu_block_order", blocks, 0, ticket.Address, output.Address);
            var places = output.ToArray();
            var ran = new int[blocks];
            for (int block = 0; block < blocks; block++) ran[places[block]] = block;
            return ran;
        }
        var shuffled = RunOrder(EmulatedExecutionOrder.Shuffled, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(RunOrder(EmulatedExecutionOrder.Ascending, 0), Is.EqualTo(ascending));
            Assert.That(RunOrder(EmulatedExecutionOrder.Descending, 0), Is.EqualTo(ascending.Reverse()));
            Assert.That(shuffled.Order(), Is.EqualTo(ascending), "every block runs once");
            Assert.That(shuffled, Is.Not.EqualTo(ascending).And.Not.EqualTo(ascending.Reverse()));
            Assert.That(RunOrder(EmulatedExecutionOrder.Shuffled, seed: 1), Is.EqualTo(shuffled), "the same seed, the same order");
            Assert.That(RunOrder(EmulatedExecutionOrder.Shuffled, seed: 2), Is.Not.EqualTo(shuffled), "another seed, another order");
        });
    }

    [Test]
    public void A_read_that_no_barrier_orders_after_its_write_differs_between_orders_and_agrees_with_the_barrier()
    {
        // Dynamic shared memory starts as 0xff bytes: an int not yet written reads -1.
        int[] unsynchronisedAscending = [.. Enumerable.Range(0, Threads).Select(t => t == Threads - 1 ? 1 : -1)];
        int[] unsynchronisedDescending = [.. Enumerable.Range(0, Threads).Select(t => t == Threads - 1 ? -1 : t + 2)];
        int[] synchronised = [.. Enumerable.Range(0, Threads).Select(t => (t + 1) % Threads + 1)];
        Assert.Multiple(() =>
        {
            Assert.That(Neighbours(EmulatedExecutionOrder.Ascending, synchronised: false), Is.EqualTo(unsynchronisedAscending));
            Assert.That(Neighbours(EmulatedExecutionOrder.Descending, synchronised: false), Is.EqualTo(unsynchronisedDescending));
            foreach (var order in Enum.GetValues<EmulatedExecutionOrder>())
                Assert.That(Neighbours(order, synchronised: true), Is.EqualTo(synchronised), $"{order}, with the barrier");
        });
    }

    /// <summary>[block, round] → the threads in the order they took their turns.</summary>
    private static int[,][] Turns(EmulatedExecutionOrder order, uint seed)
    {
        using var device = Open(order, seed);
        using var output = device.Allocate<uint>(Blocks * Threads * 2);
        Launch(device, "emu_turn_order", Blocks, 0, output.Address);
        var places = output.ToArray();
        var turns = new int[Blocks, 2][];
        for (int block = 0; block < Blocks; block++)
        for (int round = 0; round < 2; round++)
        {
            turns[block, round] = new int[Threads];
            for (int t = 0; t < Threads; t++) turns[block, round][places[(block * Threads + t) * 2 + round]] = t;
        }
        return turns;
    }

    private static int[] Neighbours(EmulatedExecutionOrder order, bool synchronised)
    {
        using var device = Open(order, seed: 3);
        using var output = device.Allocate<int>(Threads);
        Launch(device, "emu_neighbour", 1, Threads * sizeof(int), output.Address, synchronised ? 1UL : 0UL);
        return output.ToArray();
    }

    /// <summary>Launches <paramref name="blocks"/> blocks of <see cref="Threads"/>; each argument is one 64-bit slot (a pointer, or an int in its low half).</summary>
    private static unsafe void Launch(EmulatedComputeDevice device, string kernel, uint blocks, int dynamicSharedBytes, params ulong[] arguments)
    {
        var values = stackalloc ulong[arguments.Length];
        var pointers = stackalloc void*[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
        {
            values[i] = arguments[i];
            pointers[i] = &values[i];
        }
        device.DefaultStream.Launch(device.GetKernel(kernel), new Dim3(blocks), new Dim3(Threads), dynamicSharedBytes, pointers);
    }

    private static EmulatedComputeDevice Open(EmulatedExecutionOrder order, uint seed, int workerThreads = 0) =>
        new(EmulatorTestKernels.TranslationUnits, EmulatorTestKernels.Headers, cache: null, order, seed, workerThreads);
}
