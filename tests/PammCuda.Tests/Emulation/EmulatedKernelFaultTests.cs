using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Emulation;

namespace PammCuda.Tests.Emulation;

/// <summary>Kernel bugs the emulated device must report (with the kernel's name) instead of corrupting memory or hanging.</summary>
public sealed class EmulatedKernelFaultTests : EmulatedDeviceFixture
{
    [Test]
    public void Out_of_bounds_write_is_caught_by_the_guard_and_names_the_kernel()
    {
        using var input = Upload(new float[101]);
        using var output = Device.Allocate<float>(100);
        var fault = Assert.Throws<EmulatedKernelException>(
            () => LaunchWith("emu_copy", 1, 256, 0, [input.Address, output.Address], [101]));
        Assert.Multiple(() =>
        {
            Assert.That(fault!.KernelName, Is.EqualTo("emu_copy"));
            Assert.That(fault.Message, Does.Contain("emu_copy").And.Contain("at byte offset 400 of the 400-byte buffer"));
        });
        LaunchWith("emu_copy", 1, 256, 0, [input.Address, output.Address], [100]);
    }

    [Test]
    public void Divergent_syncthreads_is_reported_not_hung()
    {
        using var output = Device.Allocate<int>(64);
        var fault = Assert.Throws<EmulatedKernelException>(() => Launch("emu_divergent_barrier", 2, 64, 0, output.Address));
        Assert.That(fault!.Message, Does.Contain("emu_divergent_barrier").And.Contain("divergent __syncthreads"));
    }

    [Test]
    public void Warp_collective_naming_an_exited_lane_is_reported_as_deadlock()
    {
        using var output = Device.Allocate<int>(64);
        var fault = Assert.Throws<EmulatedKernelException>(() => Launch("emu_shuffle_after_exit", 1, 64, 0, output.Address));
        Assert.That(fault!.Message, Does.Contain("deadlock").And.Contain("__shfl_sync").And.Contain("has exited"));
    }

    [Test]
    public void Trap_fails_the_launch()
    {
        using var output = Device.Allocate<int>(32);
        var fault = Assert.Throws<EmulatedKernelException>(() => Launch("emu_trap", 3, 32, 0, output.Address));
        Assert.That(fault!.Message, Does.Contain("thread (5,0,0) executed __trap()"));
    }

    [Test]
    public void A_write_far_from_every_buffer_fails_the_launch_naming_the_thread_and_the_address_and_the_device_goes_on()
    {
        using var output = Device.Allocate<int>(64);
        const ulong wild = 0x10;
        var fault = Assert.Throws<EmulatedKernelException>(() => LaunchWith("emu_wild_write", 2, 32, 0, [output.Address, wild], []));
        Assert.Multiple(() =>
        {
            Assert.That(fault!.KernelName, Is.EqualTo("emu_wild_write"));
            Assert.That(fault.Message, Does.Contain("block (1,0,0)").And.Contain("thread (7,0,0)")
                .And.Contain("accessed memory that is not mapped or not writable, at address 0x10"));
            // The faulting instruction is read from the signal's register state, which the runtime reads on x86-64 only.
            if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
                Assert.That(fault.Message, Does.Match(@"\(instruction at /\S+\.so\+0x[0-9a-f]+\)"));
        });
        // The process, the device and the host's own null checks carry on.
        LaunchWith("emu_wild_write", 2, 32, 0, [output.Address, output.Address], []);
        Assert.That(output.ToArray(), Has.All.EqualTo(1));
        object? nothing = null;
        Assert.Throws<NullReferenceException>(() => nothing!.GetHashCode());
    }

    [Test]
    public void A_null_dereference_on_another_thread_while_a_grid_runs_is_still_the_hosts_NullReferenceException()
    {
        // The kernels' fault handler is installed while a grid runs; a fault on a thread that is not one of its workers
        // must reach the .NET runtime's handler, which makes the NullReferenceException (a fault that it lost would end
        // the process here).
        const int elements = 1 << 20;
        using var input = Upload(new float[elements]);
        using var output = Device.Allocate<float>(elements);
        int launching = 0, caughtWhileLaunching = 0;
        bool stop = false;
        var other = new Thread(() =>
        {
            object? nothing = null;
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    nothing!.GetHashCode();
                }
                catch (NullReferenceException)
                {
                    if (Volatile.Read(ref launching) == 1) Interlocked.Increment(ref caughtWhileLaunching);
                }
            }
        });
        other.Start();
        try
        {
            for (int i = 0; i < 200 && Volatile.Read(ref caughtWhileLaunching) < 100; i++)
            {
                Volatile.Write(ref launching, 1);
                LaunchWith("emu_copy", 1024, 256, 0, [input.Address, output.Address], [elements]);
                Volatile.Write(ref launching, 0);
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            other.Join();
        }
        Assert.That(caughtWhileLaunching, Is.GreaterThan(0), "null dereferences caught on the other thread while grids ran");
    }

    [Test]
    public void A_fiber_that_overflows_its_stack_fails_the_launch()
    {
        using var output = Device.Allocate<int>(32);
        var fault = Assert.Throws<EmulatedKernelException>(() => LaunchWith("emu_stack_overflow", 1, 32, 0, [output.Address], [1_000]));
        Assert.That(fault!.Message, Does.Contain("block (0,0,0)").And.Contain("thread (2,0,0) overflowed its fiber stack"));
        LaunchWith("emu_stack_overflow", 1, 32, 0, [output.Address], [3]);
        Assert.That(output.ToArray()[2], Is.EqualTo(3 + 2 + 1 + 0));
    }

    private static readonly object[] BadLaunches =
    [
        new object[] { new Dim3(0), new Dim3(32), 0, "grid.X" },
        new object[] { new Dim3(1, 65536), new Dim3(32), 0, "grid.Y" },
        new object[] { new Dim3(1, 1, 0), new Dim3(32), 0, "grid.Z" },
        new object[] { new Dim3(1), new Dim3(1025), 0, "block.X" },
        new object[] { new Dim3(1), new Dim3(1, 1, 65), 0, "block.Z" },
        new object[] { new Dim3(1), new Dim3(129), 0, "block" },
        new object[] { new Dim3(1), new Dim3(32), EmulatedComputeDevice.MaxDynamicSharedBytes + 1, "dynamicSharedBytes" },
        new object[] { new Dim3(1), new Dim3(32), -1, "dynamicSharedBytes" },
    ];

    [TestCaseSource(nameof(BadLaunches))]
    public void Launch_outside_the_limits_is_rejected_before_running(Dim3 grid, Dim3 block, int dynamicSharedBytes, string argument)
    {
        using var flag = Upload(new int[1]);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Launch("emu_small_block", grid, block, dynamicSharedBytes, flag.Address));
        Assert.Multiple(() =>
        {
            Assert.That(error!.ParamName, Is.EqualTo(argument));
            Assert.That(flag.ToArray()[0], Is.Zero, "the kernel must not have run");
        });
    }

    [Test]
    public void Unknown_kernel_name_lists_the_kernels()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => Device.GetKernel("emu_no_such_kernel"));
        Assert.That(error!.Message, Does.Contain("emu_no_such_kernel").And.Contain("emu_copy").And.Contain("emu_warp_ops"));
    }

    [Test]
    public void Compile_error_carries_the_compiler_output()
    {
        using var broken = new EmulatedComputeDevice([new("broken.cu", "extern \"C\" __global__ void emu_broken() { undeclared(); }\nPAMM_EXPORT_KERNEL(emu_broken)\n")], []);
        var error = Assert.Throws<InvalidOperationException>(() => broken.GetKernel("emu_broken"));
        Assert.That(error!.Message, Does.Contain("undeclared"));
    }
}
