using PammCuda.Cpu;
using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Interop;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Cuda;

/// <summary>Runs only on a machine with a CUDA GPU; skipped with the availability reason elsewhere.</summary>
[NonParallelizable]
[Requires(Need.CudaGpu)]
public unsafe class CudaComputeDeviceTests
{
    private CudaComputeDevice _device = null!;
    private string _cacheDirectory = "";

    [SetUp]
    public void Open()
    {
        _cacheDirectory = CudaTestEnvironment.TempDirectory();
        _device = new CudaComputeDevice(0, new KernelCompiler(new KernelImageCache(_cacheDirectory)));
    }

    [TearDown]
    public void Close()
    {
        _device?.Dispose();
        if (Directory.Exists(_cacheDirectory)) Directory.Delete(_cacheDirectory, recursive: true);
    }

    private CudaModule LoadScaleAdd() => _device.LoadModule(new KernelCompiler(new KernelImageCache(_cacheDirectory))
        .Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", _device.Gpu.ComputeCapability, CudaTestEnvironment.ScaleAddHeaders));

    private static float[] RandomFloats(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1))];
    }

    [Test]
    public void Device_reports_plausible_attributes()
    {
        var gpu = _device.Gpu;
        TestContext.Out.WriteLine($"{gpu}: {gpu.MultiprocessorCount} SMs, {gpu.TotalMemoryBytes >> 20} MiB, L2 {gpu.L2CacheBytes >> 20} MiB, " +
            $"{gpu.PeakMemoryBandwidthBytesPerSecond / 1e9:F0} GB/s peak, {gpu.MaxSharedMemoryPerBlockOptIn} B shared opt-in");
        Assert.That(gpu.Name, Is.Not.Empty);
        Assert.That(gpu.ComputeCapability, Is.GreaterThanOrEqualTo(new ComputeCapability(7, 0)));
        Assert.That(gpu.MultiprocessorCount, Is.Positive);
        Assert.That(gpu.TotalMemoryBytes, Is.GreaterThan(1L << 30));
        Assert.That(gpu.PeakMemoryBandwidthBytesPerSecond, Is.GreaterThan(1e11));
        Assert.That(gpu.L2CacheBytes, Is.Positive);
        Assert.That(gpu.MaxThreadsPerBlock, Is.EqualTo(1024));
        Assert.That(gpu.MaxBlockDimensions, Is.EqualTo(new Dim3(1024, 1024, 64)));
        Assert.That(gpu.MaxGridDimensions, Is.EqualTo(new Dim3(int.MaxValue, 65535, 65535)));
        Assert.That(gpu.MaxSharedMemoryPerBlockOptIn, Is.GreaterThanOrEqualTo(gpu.MaxSharedMemoryPerBlock));
        Assert.That(_device.Name, Does.Contain($"sm_{gpu.ComputeCapability.Number}"));
    }

    [TestCase(1)]
    [TestCase(1000)]
    [TestCase((1 << 20) + 3)]
    public void Buffers_round_trip_every_dtype(int length)
    {
        var floats = RandomFloats(length, length);
        RoundTrip(floats);
        RoundTrip(floats.Select(f => (Half)f).ToArray());
        RoundTrip(floats.Select(f => (BFloat16)f).ToArray());
    }

    private void RoundTrip<T>(T[] values) where T : unmanaged
    {
        using var buffer = _device.Allocate<T>(values.Length);
        buffer.CopyFrom(values);
        Assert.That(buffer.ToArray(), Is.EqualTo(values), typeof(T).Name);
    }

    [Test]
    public void Async_copies_and_fills_on_a_stream_with_pinned_memory()
    {
        const int n = 1 << 16;
        using var stream = _device.CreateStream();
        using var source = _device.AllocatePinned<float>(n);
        using var result = _device.AllocatePinned<float>(n);
        using var bytes = _device.AllocatePinned<byte>(n);
        RandomFloats(n, 7).CopyTo(source.Span);
        using var a = _device.Allocate<float>(n);
        using var b = _device.Allocate<float>(n);

        stream.UploadAsync(a.Address, source.Pointer, a.Bytes);
        stream.CopyAsync(b.Address, a.Address, a.Bytes);
        stream.DownloadAsync(result.Pointer, b.Address, b.Bytes);
        stream.Synchronize();
        Assert.That(result.Span.ToArray(), Is.EqualTo(source.Span.ToArray()));

        stream.Fill32Async(a.Address, BitConverter.SingleToUInt32Bits(1.5f), n);
        stream.DownloadAsync(result.Pointer, a.Address, a.Bytes);
        stream.Fill8Async(b.Address, 0xab, n);
        stream.DownloadAsync(bytes.Pointer, b.Address, n);
        stream.Synchronize();
        Assert.That(result.Span.ToArray(), Is.All.EqualTo(1.5f));
        Assert.That(bytes.Span.ToArray(), Is.All.EqualTo((byte)0xab));
    }

    [Test]
    public void A_kernel_of_our_own_launches_and_computes()
    {
        const int n = 100_003;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        Assert.That(kernel.MaxThreadsPerBlock, Is.EqualTo(256));
        var x = RandomFloats(n, 1);
        var y = RandomFloats(n, 2);
        using var dx = _device.Allocate<float>(n);
        using var dy = _device.Allocate<float>(n);
        dx.CopyFrom(x);
        dy.CopyFrom(y);

        Launch(_device.DefaultStream, kernel, dx, dy, 3f, n);
        var result = dy.ToArray();
        // Bitwise: the kernel is compiled with --fmad=false, so it rounds the product and the sum separately, like C#.
        for (int i = 0; i < n; i++) Assert.That(result[i], Is.EqualTo(3f * x[i] + y[i]), $"element {i}");
    }

    [Test]
    public void Every_operation_leaves_the_callers_current_context_as_it_was()
    {
        // A framework keeps its current device in the thread's current context (PyTorch's current_device is the
        // current context's): an operation of ours must neither change it nor leave one where there was none.
        const int n = 4099;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        var x = RandomFloats(n, 3);
        var y = RandomFloats(n, 4);
        using var stream = _device.CreateStream();
        using var dx = _device.Allocate<float>(n);
        using var dy = _device.Allocate<float>(n);
        SetCurrentContext(default);

        void Expect(string operation) => Assert.That(CurrentContext(), Is.EqualTo(default(CuContextHandle)), $"after {operation}");
        dx.CopyFrom(x);
        Expect("an upload");
        dy.CopyFrom(y);
        Launch(stream, kernel, dx, dy, 2f, n);
        Expect("a launch");
        using (var done = stream.RecordEvent())
        {
            Expect("recording an event");
            done.Synchronize();
            Expect("waiting for an event");
        }
        using (var pinned = _device.AllocatePinned<float>(n))
        {
            Expect("a pinned allocation");
            stream.DownloadAsync(pinned.Pointer, dy.Address, n * sizeof(float));
            stream.Synchronize();
            Expect("a download and a stream synchronisation");
            for (int i = 0; i < n; i++) Assert.That(pinned.Span[i], Is.EqualTo(2f * x[i] + y[i]), $"element {i}");
        }
        using (var scratch = _device.Allocate<float>(16)) { }
        Expect("an allocation and its free");
        using (var scalars = _device.Allocate<float>(2))
        {
            scalars.CopyFrom([1f, 0f]);
            // y (1 × n) = 1 · x (1 × 1) · x (1 × n): the GEMM's cuBLAS handle is made and used with no context current.
            stream.Gemm(new GemmDescriptor(GemmOperation.None, GemmOperation.None, 1, n, 1, scalars.Address, dx.Address, DType.Float32, 1,
                dx.Address, DType.Float32, 1, scalars.Address + sizeof(float), dy.Address, DType.Float32, 1, AllowTf32: false));
            Expect("a cuBLAS GEMM");
            var product = dy.ToArray(stream);
            for (int i = 0; i < n; i++) Assert.That(product[i], Is.EqualTo(x[0] * x[i]), $"GEMM element {i}");
        }

        // With the device's own context current, it stays current.
        SetCurrentContext(_device.Context.Handle);
        dx.CopyFrom(y);
        Assert.That(CurrentContext(), Is.EqualTo(_device.Context.Handle), "after an upload with the device's context current");
    }

    private static CuContextHandle CurrentContext()
    {
        CuContextHandle current;
        CuDriver.cuCtxGetCurrent(&current).ThrowIfFailed();
        return current;
    }

    private static void SetCurrentContext(CuContextHandle context) => CuDriver.cuCtxSetCurrent(context).ThrowIfFailed();

    private static void Launch(IDeviceStream stream, DeviceKernel kernel, DeviceBuffer<float> x, DeviceBuffer<float> y, float a, long n)
    {
        ulong xAddress = x.Address, yAddress = y.Address;
        ulong count = (ulong)n;
        void** arguments = stackalloc void*[] { &xAddress, &yAddress, &a, &count };
        stream.Launch(kernel, (uint)((n + 255) / 256), 256, 0, arguments);
    }

    [Test]
    public void Dynamic_shared_memory_beyond_48_KiB_is_opted_in()
    {
        int threads = 1024, blocks = 4;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("block_sum");
        var x = Enumerable.Range(0, threads * blocks).Select(i => (float)(i % 7)).ToArray();
        using var dx = _device.Allocate<float>(x.Length);
        using var sums = _device.Allocate<float>(blocks);
        dx.CopyFrom(x);
        ulong xAddress = dx.Address, sumsAddress = sums.Address;
        void** arguments = stackalloc void*[] { &xAddress, &sumsAddress };
        int shared = Math.Min(_device.Gpu.MaxSharedMemoryPerBlockOptIn, 96 * 1024);
        _device.DefaultStream.Launch(kernel, (uint)blocks, (uint)threads, shared, arguments);
        var expected = Enumerable.Range(0, blocks).Select(b => x.Skip(b * threads).Take(threads).Sum()).ToArray();
        Assert.That(sums.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Launch_limits_are_checked_before_launching()
    {
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        void** none = null;
        var stream = _device.DefaultStream;
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, 1, 512, 0, none))!.ParamName, Is.EqualTo("block"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, 1, new Dim3(1, 1, 65), 0, none))!.Message, Does.Contain("block.Z"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, new Dim3(1, 70000), 32, 0, none))!.Message, Does.Contain("grid.Y"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, 0, 32, 0, none))!.Message, Does.Contain("grid.X"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, 1, 32, -1, none))!.ParamName, Is.EqualTo("dynamicSharedBytes"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => stream.Launch(kernel, 1, 32, _device.Gpu.MaxSharedMemoryPerBlockOptIn + 1, none))!.ParamName,
            Is.EqualTo("dynamicSharedBytes"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => stream.Launch(null!, 1, 32, 0, none))!.ParamName, Is.EqualTo("kernel"));
    }

    [Test]
    public void Events_time_work_on_a_stream()
    {
        const int n = 1 << 22;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        using var stream = _device.CreateStream();
        using var dx = _device.Allocate<float>(n);
        using var dy = _device.Allocate<float>(n);
        stream.Fill32Async(dx.Address, 0, n);
        stream.Fill32Async(dy.Address, 0, n);
        using var start = stream.RecordEvent();
        for (int i = 0; i < 10; i++) Launch(stream, kernel, dx, dy, 1f, n);
        using var end = stream.RecordEvent();
        end.Synchronize();
        float milliseconds = end.ElapsedMillisecondsSince(start);
        Assert.That(milliseconds, Is.GreaterThan(0f).And.LessThan(10_000f));
        Assert.That(start.ElapsedMillisecondsSince(end), Is.EqualTo(-milliseconds).Within(1e-3f));
    }

    [Test]
    public void Two_streams_run_at_once_with_their_own_results()
    {
        const int n = 1 << 20;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        using var first = _device.CreateStream();
        using var second = _device.CreateStream();
        using var x = _device.Allocate<float>(n);
        using var y1 = _device.Allocate<float>(n);
        using var y2 = _device.Allocate<float>(n);
        x.CopyFrom(Enumerable.Repeat(1f, n).ToArray());
        first.Fill32Async(y1.Address, 0, n);
        second.Fill32Async(y2.Address, 0, n);
        for (int i = 0; i < 5; i++)
        {
            Launch(first, kernel, x, y1, 1f, n);
            Launch(second, kernel, x, y2, 2f, n);
        }
        first.Synchronize();
        second.Synchronize();
        Assert.That(y1.ToArray(first), Is.All.EqualTo(5f));
        Assert.That(y2.ToArray(second), Is.All.EqualTo(10f));
    }

    [Test]
    public void A_wrapped_stream_is_not_destroyed_by_its_wrapper()
    {
        using var owned = _device.CreateStream();
        var wrapper = _device.WrapStream(owned.NativeHandle);
        Assert.That(wrapper.NativeHandle, Is.EqualTo(owned.NativeHandle));
        wrapper.Dispose();
        Assert.Throws<ObjectDisposedException>(() => wrapper.Synchronize());
        Assert.DoesNotThrow(() => owned.Synchronize());
    }

    [Test]
    public void Views_over_foreign_pointers_are_checked()
    {
        using var owner = _device.Allocate<float>(1000);
        using var view = _device.View<float>(owner.Address + 400, 900);
        Assert.That(view.IsOwning, Is.False);
        view.CopyFrom(Enumerable.Range(0, 900).Select(i => (float)i).ToArray());
        Assert.That(owner.ToArray()[100..], Is.EqualTo(Enumerable.Range(0, 900).Select(i => (float)i).ToArray()));

        Assert.That(Assert.Throws<ArgumentException>(() => _device.View<float>(owner.Address + 400, 901))!.ParamName, Is.EqualTo("length"));
        var host = new float[16];
        fixed (float* p = host)
        {
            ulong hostAddress = (ulong)p;
            Assert.That(Assert.Throws<ArgumentException>(() => _device.View<float>(hostAddress, 16))!.ParamName, Is.EqualTo("address"));
        }
        Assert.That(Assert.Throws<ArgumentException>(() => _device.View<float>(0, 16))!.ParamName, Is.EqualTo("address"));
    }

    [TestCase(GemmOperation.None, GemmOperation.None)]
    [TestCase(GemmOperation.Transpose, GemmOperation.None)]
    [TestCase(GemmOperation.None, GemmOperation.Transpose)]
    [TestCase(GemmOperation.Transpose, GemmOperation.Transpose)]
    public void Sgemm_matches_the_cpu_gemm(GemmOperation opA, GemmOperation opB) =>
        CheckGemm<float, float>(opA, opB, allowTf32: false);

    [Test]
    public void GemmEx_float16_matches_the_cpu_gemm() => CheckGemm<Half, Half>(GemmOperation.Transpose, GemmOperation.None, false);

    [Test]
    public void GemmEx_bfloat16_matches_the_cpu_gemm() => CheckGemm<BFloat16, BFloat16>(GemmOperation.None, GemmOperation.Transpose, false);

    [Test]
    public void GemmEx_bfloat16_into_float32_matches_the_cpu_gemm() => CheckGemm<BFloat16, float>(GemmOperation.Transpose, GemmOperation.Transpose, false);

    [Test]
    public void GemmEx_tf32_matches_the_cpu_gemm_to_tf32_precision() => CheckGemm<float, float>(GemmOperation.None, GemmOperation.None, allowTf32: true);

    private void CheckGemm<TIn, TOut>(GemmOperation opA, GemmOperation opB, bool allowTf32) where TIn : unmanaged where TOut : unmanaged
    {
        const int m = 37, n = 53, k = 71;
        int lda = (opA == GemmOperation.None ? m : k) + 3, ldb = (opB == GemmOperation.None ? k : n) + 1, ldc = m + 2;
        int aCount = lda * (opA == GemmOperation.None ? k : m), bCount = ldb * (opB == GemmOperation.None ? n : k), cCount = ldc * n;
        var a = RandomFloats(aCount, 11).Select(ElementConvert.FromSingle<TIn>).ToArray();
        var b = RandomFloats(bCount, 12).Select(ElementConvert.FromSingle<TIn>).ToArray();
        var c = RandomFloats(cCount, 13).Select(ElementConvert.FromSingle<TOut>).ToArray();
        const float alpha = 0.75f, beta = -0.5f;
        var expected = (TOut[])c.Clone();
        fixed (TIn* pa = a)
        fixed (TIn* pb = b)
        fixed (TOut* pc = expected)
            CpuGemm.Gemm(opA, opB, m, n, k, alpha, pa, DTypes.Of<TIn>(), lda, pb, DTypes.Of<TIn>(), ldb, beta, pc, DTypes.Of<TOut>(), ldc);

        using var da = _device.Allocate<TIn>(aCount);
        using var db = _device.Allocate<TIn>(bCount);
        using var dc = _device.Allocate<TOut>(cCount);
        using var scalars = _device.Allocate<float>(2);
        da.CopyFrom(a);
        db.CopyFrom(b);
        dc.CopyFrom(c);
        scalars.CopyFrom([alpha, beta]);
        using var stream = _device.CreateStream();
        stream.Gemm(new GemmDescriptor(opA, opB, m, n, k, scalars.Address, da.Address, DTypes.Of<TIn>(), lda,
            db.Address, DTypes.Of<TIn>(), ldb, scalars.Address + sizeof(float), dc.Address, DTypes.Of<TOut>(), ldc, allowTf32));
        var actual = dc.ToArray(stream);

        // Accumulation order differs (k terms of magnitude ≤ 1); the output is rounded once to TOut; TF32 rounds inputs to 10 bits.
        double outputEpsilon = typeof(TOut) == typeof(float) ? Math.ScaleB(1, -23) : typeof(TOut) == typeof(Half) ? Math.ScaleB(1, -10) : Math.ScaleB(1, -7);
        double inputEpsilon = allowTf32 ? Math.ScaleB(1, -10) : Math.ScaleB(1, -23);
        for (int column = 0; column < n; column++)
            for (int row = 0; row < m; row++)
            {
                int index = column * ldc + row;
                double reference = ElementConvert.ToSingle(expected[index]);
                double tolerance = k * (2 * inputEpsilon + Math.ScaleB(1, -22)) + 2 * outputEpsilon * Math.Max(1, Math.Abs(reference));
                Assert.That(ElementConvert.ToSingle(actual[index]), Is.EqualTo(reference).Within(tolerance), $"C[{row},{column}]");
            }
        for (int column = 0; column < n; column++)
            for (int row = m; row < ldc; row++)
                Assert.That(actual[column * ldc + row], Is.EqualTo(c[column * ldc + row]), "padding rows of C must be untouched");
    }

    [Test]
    public void Every_embedded_kernel_is_found_by_name_and_an_unknown_name_lists_them()
    {
        var names = KernelSources.TranslationUnits
            .SelectMany(u => System.Text.RegularExpressions.Regex.Matches(u.Value, @"PAMM_EXPORT_KERNEL\(\s*(\w+)\s*\)").Select(m => m.Groups[1].Value)).ToList();
        foreach (var name in names) Assert.That(_device.GetKernel(name).Name, Is.EqualTo(name));
        var exception = Assert.Throws<KeyNotFoundException>(() => _device.GetKernel("pamm_no_such_kernel"));
        Assert.That(exception!.Message, Does.Contain("pamm_no_such_kernel"));
        foreach (var name in names) Assert.That(exception.Message, Does.Contain(name));
    }

    [Test]
    public void A_high_priority_stream_has_the_contexts_greatest_priority_and_a_normal_one_the_default()
    {
        var (least, greatest) = StreamPriorityRange();
        using var normal = (CudaStream)_device.CreateStream();
        using var high = (CudaStream)_device.CreateStream(StreamPriority.High);
        TestContext.Out.WriteLine($"stream priorities: least {least}, greatest {greatest}");
        Assert.Multiple(() =>
        {
            Assert.That(normal.NativePriority, Is.EqualTo(least));
            Assert.That(high.NativePriority, Is.EqualTo(greatest));
            Assert.That(greatest, Is.LessThan(least), "a GPU of compute capability 7.0 or newer has stream priorities");
        });
        using var buffer = _device.Allocate<float>(1000);
        high.Fill32Async(buffer.Address, BitConverter.SingleToUInt32Bits(-1f), 1000);
        Assert.That(buffer.ToArray(high).Distinct(), Is.EqualTo(new[] { -1f }));
        Assert.That(() => _device.CreateStream((StreamPriority)7),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("priority"));
    }

    private (int Least, int Greatest) StreamPriorityRange()
    {
        using var current = _device.Context.Enter();
        int least, greatest;
        CuDriver.cuCtxGetStreamPriorityRange(&least, &greatest).ThrowIfFailed();
        return (least, greatest);
    }

    [Test]
    public void A_stream_waits_on_the_device_for_an_event_recorded_on_another()
    {
        const int n = 1 << 24, launches = 50;
        using var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");
        using var first = _device.CreateStream();
        using var second = _device.CreateStream();
        using var dx = _device.Allocate<float>(n);
        using var dy = _device.Allocate<float>(n);
        using var dz = _device.Allocate<float>(n);
        first.Fill32Async(dx.Address, BitConverter.SingleToUInt32Bits(1f), n);
        first.Fill32Async(dy.Address, 0, n);
        first.Synchronize();
        // A few milliseconds of work on the first stream; without the wait, the second stream's copy would start at once
        // and read y part-way.
        for (int i = 0; i < launches; i++) Launch(first, kernel, dx, dy, 1f, n);
        using (var done = first.RecordEvent()) second.WaitFor(done);
        second.CopyAsync(dz.Address, dy.Address, (long)n * sizeof(float));
        second.Synchronize();
        var copied = dz.ToArray(second);
        Assert.That(copied.Distinct(), Is.EqualTo(new[] { (float)launches }));
    }

    [Test]
    public void Waiting_for_an_event_that_is_not_a_cuda_event_is_refused()
    {
        using var stream = _device.CreateStream();
        using var emulated = new PammCuda.Emulation.EmulatedComputeDevice();
        using var foreign = emulated.DefaultStream.RecordEvent();
        Assert.That(() => stream.WaitFor(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("recorded"));
        Assert.That(() => stream.WaitFor(foreign), Throws.ArgumentException.With.Property("ParamName").EqualTo("recorded"));
    }

    [Test]
    public void Everything_is_unusable_after_dispose_and_disposing_twice_is_harmless()
    {
        var stream = _device.CreateStream();
        var buffer = _device.Allocate<float>(16);
        var pinned = _device.AllocatePinned<float>(16);
        var recorded = stream.RecordEvent();
        var module = LoadScaleAdd();
        var kernel = module.GetKernel("scale_add");

        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.Synchronize());
        module.Dispose();
        void** none = null;
        Assert.Throws<ObjectDisposedException>(() => _device.DefaultStream.Launch(kernel, 1, 32, 0, none));

        _device.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _device.Allocate<float>(4));
        Assert.Throws<ObjectDisposedException>(() => _device.DefaultStream.Synchronize());
        Assert.Throws<ObjectDisposedException>(() => _device.CreateStream());
        Assert.Throws<ObjectDisposedException>(() => recorded.Synchronize());
        Assert.Throws<ObjectDisposedException>(() => _device.DefaultStream.WaitFor(recorded));
        Assert.Throws<ObjectDisposedException>(() => _ = pinned.Span);
        Assert.DoesNotThrow(buffer.Dispose);
        Assert.DoesNotThrow(recorded.Dispose);
        Assert.DoesNotThrow(_device.Dispose);
    }
}
