using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Emulation;

namespace PammCuda.Tests.Emulation;

/// <summary>Memory, streams and GEMM of the emulated device.</summary>
public sealed unsafe class EmulatedMemoryTests : EmulatedDeviceFixture
{
    [Test]
    public void Copies_and_fills_round_trip()
    {
        var values = Enumerable.Range(0, 1000).Select(i => i * 0.25f).ToArray();
        using var first = Upload(values);
        using var second = Device.Allocate<float>(1000);
        using var stream = Device.CreateStream();
        first.CopyToAsync(second, stream);
        stream.Fill32Async(second.Address + 40, BitConverter.SingleToUInt32Bits(-3f), 5);
        stream.Fill8Async(second.Address + 4 * 990, 0, 4 * 10);
        var expected = values.ToArray();
        for (int i = 10; i < 15; i++) expected[i] = -3f;
        for (int i = 990; i < 1000; i++) expected[i] = 0f;
        Assert.That(second.ToArray(stream), Is.EqualTo(expected));
    }

    [Test]
    public void View_inside_an_allocation_reads_the_same_memory()
    {
        using var buffer = Upload(Enumerable.Range(0, 64).ToArray());
        using var view = Device.View<int>(buffer.Address + 16 * sizeof(int), 48);
        Assert.Multiple(() =>
        {
            Assert.That(view.IsOwning, Is.False);
            Assert.That(view.ToArray(), Is.EqualTo(Enumerable.Range(16, 48).ToArray()));
        });
    }

    [Test]
    public void View_past_the_end_or_of_another_device_is_rejected()
    {
        using var buffer = Device.Allocate<int>(64);
        using var other = new EmulatedComputeDevice([], []);
        using var foreign = other.Allocate<int>(64);
        Assert.Multiple(() =>
        {
            Assert.That(() => Device.View<int>(buffer.Address + 4, 64), Throws.ArgumentException.With.Property("ParamName").EqualTo("address"));
            Assert.That(() => Device.View<int>(foreign.Address, 1), Throws.ArgumentException.With.Property("ParamName").EqualTo("address"));
            Assert.That(() => Device.DefaultStream.CopyAsync(buffer.Address, foreign.Address, 4),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("source"));
        });
    }

    [Test]
    public void Freed_memory_is_no_longer_addressable()
    {
        var buffer = Device.Allocate<float>(8);
        var address = buffer.Address;
        buffer.Dispose();
        Assert.That(() => Device.View<float>(address, 1), Throws.ArgumentException);
    }

    [Test]
    public void Disposed_device_refuses_work()
    {
        var device = new EmulatedComputeDevice([], []);
        var buffer = device.Allocate<int>(4);
        var stream = device.CreateStream();
        device.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(() => device.Allocate<int>(1), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => device.GetKernel("emu_copy"), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => stream.Synchronize(), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => buffer.Dispose(), Throws.Nothing);
        });
    }

    [TestCase(GemmOperation.None, GemmOperation.None, DType.Float32, DType.Float32)]
    [TestCase(GemmOperation.Transpose, GemmOperation.None, DType.Float32, DType.Float32)]
    [TestCase(GemmOperation.None, GemmOperation.Transpose, DType.Float16, DType.Float32)]
    [TestCase(GemmOperation.Transpose, GemmOperation.Transpose, DType.BFloat16, DType.BFloat16)]
    public void Gemm_equals_the_cpu_gemm(GemmOperation opA, GemmOperation opB, DType inputType, DType outputType)
    {
        const int m = 37, n = 19, k = 23;
        var random = new Random(5);
        byte[] Random(int count, DType type)
        {
            var bytes = new byte[count * type.SizeOf()];
            fixed (byte* p = bytes)
                for (int i = 0; i < count; i++) ElementStore(p, type, i, (float)(random.NextDouble() * 2 - 1));
            return bytes;
        }
        int lda = (opA == GemmOperation.None ? m : k) + 3, ldb = (opB == GemmOperation.None ? k : n) + 1, ldc = m + 2;
        var a = Random(lda * (opA == GemmOperation.None ? k : m), inputType);
        var b = Random(ldb * (opB == GemmOperation.None ? n : k), inputType);
        var c = Random(ldc * n, outputType);
        using var da = Upload(a);
        using var db = Upload(b);
        using var dc = Upload(c);
        using var scalars = Upload(new[] { 0.75f, -1.5f });
        Device.DefaultStream.Gemm(new GemmDescriptor(opA, opB, m, n, k, scalars.Address, da.Address, inputType, lda,
            db.Address, inputType, ldb, scalars.Address + 4, dc.Address, outputType, ldc));

        fixed (byte* pa = a, pb = b, pc = c)
            CpuGemm.Gemm(opA, opB, m, n, k, 0.75f, pa, inputType, lda, pb, inputType, ldb, -1.5f, pc, outputType, ldc);
        Assert.That(dc.ToArray(), Is.EqualTo(c));
    }

    [Test]
    public void Gemm_with_an_operand_past_its_buffer_is_rejected()
    {
        using var a = Device.Allocate<float>(10 * 10);
        using var c = Device.Allocate<float>(10 * 10);
        using var scalars = Upload(new[] { 1f, 0f });
        var gemm = new GemmDescriptor(GemmOperation.None, GemmOperation.None, 10, 10, 11, scalars.Address, a.Address, DType.Float32, 10,
            a.Address, DType.Float32, 11, scalars.Address + 4, c.Address, DType.Float32, 10);
        Assert.That(() => Device.DefaultStream.Gemm(gemm), Throws.ArgumentException.With.Property("ParamName").EqualTo("gemm.A"));
    }

    [Test]
    public void Events_measure_nonnegative_elapsed_time()
    {
        using var start = Device.DefaultStream.RecordEvent();
        using var buffer = Device.Allocate<float>(1024);
        using var end = Device.DefaultStream.RecordEvent();
        end.Synchronize();
        Assert.That(end.ElapsedMillisecondsSince(start), Is.GreaterThanOrEqualTo(0f));
    }

    [Test]
    public void A_stream_waits_for_an_event_of_the_emulated_device_and_refuses_any_other()
    {
        using var stream = Device.CreateStream();
        using (var recorded = Device.DefaultStream.RecordEvent()) Assert.DoesNotThrow(() => stream.WaitFor(recorded));
        var disposed = Device.DefaultStream.RecordEvent();
        disposed.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(() => stream.WaitFor(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("recorded"));
            Assert.That(() => stream.WaitFor(new ForeignEvent()), Throws.ArgumentException.With.Property("ParamName").EqualTo("recorded"));
            Assert.That(() => stream.WaitFor(disposed), Throws.TypeOf<ObjectDisposedException>());
        });
    }

    [Test]
    public void A_stream_of_either_priority_runs_work_and_an_undefined_priority_is_refused()
    {
        foreach (var priority in new[] { StreamPriority.Normal, StreamPriority.High })
        {
            using var stream = Device.CreateStream(priority);
            using var buffer = Device.Allocate<float>(4);
            stream.Fill32Async(buffer.Address, BitConverter.SingleToUInt32Bits(2.5f), 4);
            Assert.That(buffer.ToArray(stream), Is.EqualTo(new[] { 2.5f, 2.5f, 2.5f, 2.5f }), priority.ToString());
        }
        Assert.That(() => Device.CreateStream((StreamPriority)7),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("priority"));
    }

    /// <summary>An event of some other kind of device.</summary>
    private sealed class ForeignEvent : IDeviceEvent
    {
        public void Synchronize() { }

        public float ElapsedMillisecondsSince(IDeviceEvent start) => 0f;

        public void Dispose() { }
    }

    private static void ElementStore(byte* p, DType type, int index, float value)
    {
        switch (type)
        {
            case DType.Float32: ((float*)p)[index] = value; break;
            case DType.Float16: ((Half*)p)[index] = (Half)value; break;
            default: ((BFloat16*)p)[index] = (BFloat16)value; break;
        }
    }
}
