using PammCuda.Devices;

namespace PammCuda.Tests.Emulation;

/// <summary>CUDA execution semantics of the emulated device: indexing, shared memory, barriers, warp collectives, atomics.</summary>
public sealed class EmulatedKernelExecutionTests : EmulatedDeviceFixture
{
    private static readonly object[] Shapes =
    [
        new object[] { new Dim3(7), new Dim3(33) },
        new object[] { new Dim3(3, 4), new Dim3(8, 5) },
        new object[] { new Dim3(2, 3, 4), new Dim3(4, 2, 3) },
        new object[] { new Dim3(1), new Dim3(1024) },
    ];

    [TestCaseSource(nameof(Shapes))]
    public void Every_thread_sees_its_own_thread_and_block_indices(Dim3 grid, Dim3 block)
    {
        long threads = (long)(grid.Volume * block.Volume);
        using var output = Device.Allocate<uint>(threads * 8);
        Launch("emu_index_map", grid, block, 0, output.Address);
        var values = output.ToArray();
        long id = 0;
        for (uint bz = 0; bz < grid.Z; bz++)
        for (uint by = 0; by < grid.Y; by++)
        for (uint bx = 0; bx < grid.X; bx++)
        for (uint tz = 0; tz < block.Z; tz++)
        for (uint ty = 0; ty < block.Y; ty++)
        for (uint tx = 0; tx < block.X; tx++, id++)
        {
            uint[] expected = [tx, ty, tz, bx, by, bz, (uint)block.Volume, (uint)grid.Volume];
            Assert.That(values.AsSpan((int)id * 8, 8).ToArray(), Is.EqualTo(expected), $"thread {id}");
        }
    }

    [TestCase(1)]
    [TestCase(255)]
    [TestCase(100_000)]
    public void Static_shared_memory_block_reduction_sums_exactly(int n)
    {
        using var input = Upload(Enumerable.Range(1, n).ToArray());
        using var sum = Upload(new ulong[1] { 0 });
        LaunchWith("emu_sum_static", 13, 256, 0, [input.Address, sum.Address], [n]);
        Assert.That(sum.ToArray()[0], Is.EqualTo((ulong)n * (ulong)(n + 1) / 2));
    }

    [Test]
    public void Static_shared_memory_starts_a_launch_as_0xFF_bytes_not_as_what_the_last_launch_left_or_zeros()
    {
        using var output = Device.Allocate<int>(64);
        LaunchWith("emu_static_shared", 1, 32, 0, [output.Address], [1]);
        Assert.That(output.ToArray().Chunk(2).Select(pair => (pair[0], BitConverter.Int32BitsToSingle(pair[1]))), Has.All.EqualTo((5, 1.5f)));

        // Read without a write: what a GPU leaves there is anything, so the emulator gives what shows (-1, NaN).
        LaunchWith("emu_static_shared", 1, 32, 0, [output.Address], [0]);
        Assert.That(output.ToArray(), Has.All.EqualTo(-1));
    }

    [TestCase(64)]
    [TestCase(1024)]
    public void Dynamic_shared_memory_block_reduction_sums_exactly(int threads)
    {
        const int n = 50_000;
        using var input = Upload(Enumerable.Range(1, n).ToArray());
        using var sum = Upload(new ulong[1] { 0 });
        LaunchWith("emu_sum_dynamic", 5, (uint)threads, threads * sizeof(long), [input.Address, sum.Address], [n]);
        Assert.That(sum.ToArray()[0], Is.EqualTo((ulong)n * (n + 1) / 2));
    }

    [Test]
    public void Warp_shuffles_and_votes_follow_cuda_semantics()
    {
        var input = Enumerable.Range(0, 64).Select(i => i * 7 % 61).ToArray();
        using var device = Upload(input);
        using var output = Device.Allocate<int>(64 * 10);
        Launch("emu_warp_ops", 1, 64, 0, device.Address, output.Address);
        var actual = output.ToArray();

        for (int thread = 0; thread < 64; thread++)
        {
            int warp = thread / 32 * 32, lane = thread % 32;
            int At(int sourceLane) => input[warp + sourceLane];
            uint ballot = 0;
            for (int l = 0; l < 32; l++) if (At(l) > 50) ballot |= 1u << l;
            int[] expected =
            [
                At(lane ^ 5),
                lane + 3 < 32 ? At(lane + 3) : At(lane),
                lane - 2 >= 0 ? At(lane - 2) : At(lane),
                At(7),
                At(lane / 8 * 8 + (lane + 3) % 8),
                (int)ballot,
                Enumerable.Range(0, 32).Any(l => At(l) == 3) ? 1 : 0,
                1,
                BitConverter.SingleToInt32Bits((lane + 1 < 32 ? At(lane + 1) : At(lane)) * 0.5f),
                At(lane ^ 1),
            ];
            Assert.That(actual.AsSpan(thread * 10, 10).ToArray(), Is.EqualTo(expected), $"thread {thread}");
        }
    }

    [Test]
    public void Integer_atomics_from_many_blocks_count_exactly()
    {
        const int blocks = 300, threads = 128;
        using var counter = Upload(new uint[1]);
        using var largest = Upload(new[] { int.MinValue });
        using var smallest = Upload(new[] { int.MaxValue });
        Launch("emu_atomics", blocks, threads, 0, counter.Address, largest.Address, smallest.Address);
        Assert.Multiple(() =>
        {
            Assert.That(counter.ToArray()[0], Is.EqualTo((uint)(blocks * threads)));
            Assert.That(largest.ToArray()[0], Is.EqualTo(blocks * threads - 1));
            Assert.That(smallest.ToArray()[0], Is.EqualTo(-(blocks * threads - 1)));
        });
    }

    [Test]
    public void Uninitialised_device_memory_reads_as_nan()
    {
        using var scratch = Device.Allocate<float>(300);
        using var copy = Device.Allocate<float>(300);
        LaunchWith("emu_copy", 2, 256, 0, [scratch.Address, copy.Address], [300]);
        Assert.That(copy.ToArray(), Has.All.NaN);
        using var halves = Device.Allocate<Half>(5);
        using var bfloats = Device.Allocate<BFloat16>(5);
        using var doubles = Device.Allocate<double>(5);
        using var integers = Device.Allocate<int>(5);
        using var longs = Device.Allocate<long>(5);
        Assert.Multiple(() =>
        {
            Assert.That(halves.ToArray().Select(Half.IsNaN), Has.All.True);
            Assert.That(bfloats.ToArray().Select(value => float.IsNaN((float)value)), Has.All.True);
            Assert.That(doubles.ToArray(), Has.All.NaN);
            Assert.That(integers.ToArray(), Has.All.Negative);
            Assert.That(longs.ToArray(), Has.All.Negative);
        });
    }

    [Test]
    public void Two_fresh_allocations_never_hold_the_same_bytes()
    {
        // A GPU's fresh memory holds whatever was there; a test that compares two buffers including bytes nobody wrote
        // (alignment padding) must fail here as it would there, not pass because both hold one fill pattern.
        var buffers = Enumerable.Range(0, 20).Select(_ => Device.Allocate<byte>(7)).ToArray();
        try
        {
            var contents = buffers.Select(buffer => buffer.ToArray()).ToArray();
            for (int i = 1; i < contents.Length; i++)
                Assert.That(contents[i], Is.Not.EqualTo(contents[i - 1]), $"allocations {i - 1} and {i}");
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
    }

    [Test]
    public void Uninitialised_dynamic_shared_memory_reads_as_nan()
    {
        using var output = Device.Allocate<float>(256);
        Launch("emu_read_dynamic_shared", 1, 256, 256 * sizeof(float), output.Address);
        Assert.That(output.ToArray(), Has.All.NaN);
    }

    [Test]
    public void Named_launch_bound_sets_the_kernels_thread_limit() =>
        Assert.That(Device.GetKernel("emu_small_block").MaxThreadsPerBlock, Is.EqualTo(128));

    [Test]
    public void Translation_units_keep_their_own_helpers_of_the_same_name()
    {
        using var first = Device.Allocate<int>(32);
        using var second = Device.Allocate<int>(32);
        Launch("emu_first_unit", 1, 32, 0, first.Address);
        Launch("emu_second_unit", 1, 32, 0, second.Address);
        Assert.Multiple(() =>
        {
            Assert.That(first.ToArray(), Has.All.EqualTo(1));
            Assert.That(second.ToArray(), Has.All.EqualTo(2));
        });
    }
}
