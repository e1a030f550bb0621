using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// <see cref="PammEngine.ProjectAndCompressInto"/>: one GEMM of X with <c>[W; C]</c> gives the exact projection X Wᵀ (within
/// the GEMM's dtype tolerance) and the compressed form that <see cref="PammEngine.Compress(ulong, int, int, DType, PammOptions)"/>
/// gives (the same generators and η, f except at near-ties, α within float32 tolerance), for every dtype, k from 1 to
/// past 256 and shapes that are no multiple of any tile. On CUDA these run on the GPU (skipped without one).
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class PammEngineProjectionTests(string deviceName) : DeviceFixture(deviceName)
{
    [TestCase(DType.Float32, 37, 24, 40, 1)]
    [TestCase(DType.Float32, 333, 19, 45, 17)]
    [TestCase(DType.Float32, 300, 33, 7, 300)]
    [TestCase(DType.Float16, 333, 24, 40, 17)]
    [TestCase(DType.Float16, 290, 17, 9, 257)]
    [TestCase(DType.BFloat16, 333, 24, 40, 17)]
    [TestCase(DType.BFloat16, 290, 17, 9, 257)]
    [TestCase(DType.BFloat16, 5, 3, 1, 5)]
    public void One_GEMM_gives_the_exact_projection_and_what_Compress_gives(DType dtype, int rows, int columns, int projectionColumns, int k)
    {
        var options = new PammOptions { K = k, Seed = (ulong)(rows * 7 + k) };
        switch (dtype)
        {
            case DType.Float32: AssertMatchesCompressAndExact<float>(rows, columns, projectionColumns, options); break;
            case DType.Float16: AssertMatchesCompressAndExact<Half>(rows, columns, projectionColumns, options); break;
            default: AssertMatchesCompressAndExact<BFloat16>(rows, columns, projectionColumns, options); break;
        }
    }

    [TestCase(0.5)]
    [TestCase(0.9)]
    public void The_neighbourhood_condition_drops_what_Compress_drops(double epsilon) =>
        AssertMatchesCompressAndExact<float>(400, 6, 12, new PammOptions { K = 20, Seed = 8, Epsilon = epsilon });

    [Test]
    public void Explicit_generators_zero_and_NaN_rows_follow_the_rules_of_Compress()
    {
        var (x, options) = EngineTestData.ZeroAndNaNRows(50, 8);
        AssertMatchesCompressAndExact(x, 50, 8, 5, options, projectionIsFinite: false);
    }

    [Test]
    public void Refined_generators_are_those_Compress_refines()
    {
        const int rows = 400, columns = 24, m = 16;
        var options = new PammOptions { K = 12, Seed = 3, Epsilon = 0.9, RefineGenerators = true };
        var x = EngineTestData.Random<float>(rows, columns, 41);
        var stackedWeight = EngineTestData.Random<float>(m + 12, columns, 42);
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var weight = Upload(stackedWeight);
        using var projection = Device.Allocate<float>((long)rows * m);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, 12, DType.Float32));
        using var fused = engine.ProjectAndCompressInto(input.Address, rows, columns, DType.Float32, weight.Address, m, projection.Address,
            options, storage.Address, storage.Length);
        using var refined = engine.Compress(input.Address, rows, columns, DType.Float32, options);
        using var plain = engine.Compress(input.Address, rows, columns, DType.Float32, options with { RefineGenerators = false });
        var generators = fused.CopyGenerators<float>();
        var expected = refined.CopyGenerators<float>();
        Assert.Multiple(() =>
        {
            Assert.That(fused.CopyAssignment(), Is.EqualTo(refined.CopyAssignment()));
            Assert.That(generators, Is.Not.EqualTo(plain.CopyGenerators<float>()), "the generators were refined");
            // The similarities come from another GEMM, so α before the refinement, and with it D, may differ in the last bits.
            for (int i = 0; i < generators.Length; i++)
                Assert.That(generators[i], Is.EqualTo(expected[i]).Within(1e-5 * (1 + Math.Abs(expected[i]))), $"C element {i}");
            Assert.That(fused.CopyAlpha(), Is.EqualTo(refined.CopyAlpha()).Within(1e-4), "α");
        });
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    public void Caller_workspace_gives_bitwise_what_the_engine_scratch_gives(DType dtype)
    {
        if (dtype == DType.Float32) AssertCallerWorkspaceMatchesOwn<float>();
        else AssertCallerWorkspaceMatchesOwn<BFloat16>();
    }

    [Test]
    public void Bad_arguments_are_rejected_naming_them_before_any_work()
    {
        const int rows = 40, columns = 8, m = 6, k = 4;
        var options = new PammOptions { K = k, Seed = 2 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<float>(rows, columns, 3));
        using var weight = Device.Allocate<float>((long)(m + k) * columns);
        using var projection = Device.Allocate<float>((long)rows * m);
        long storageBytes = PammEngine.CompressedStorageBytes(rows, columns, k, DType.Float32);
        long workspaceBytes = PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, m);
        using var storage = Device.Allocate<byte>(storageBytes);
        using var workspace = Device.Allocate<byte>(workspaceBytes);
        projection.CopyFrom(Enumerable.Repeat(7f, rows * m).ToArray());
        weight.CopyFrom(Enumerable.Repeat(5f, (m + k) * columns).ToArray());
        ulong x = input.Address, w = weight.Address, y = projection.Address, s = storage.Address, ws = workspace.Address;

        GpuCompressedActivation Call(ulong x_ = 1, ulong w_ = 1, ulong y_ = 1, int m_ = m, DType dtype = DType.Float32, long storageBytes_ = -1,
            long workspaceBytes_ = -1, int rows_ = rows) =>
            engine.ProjectAndCompressInto(x_ == 1 ? x : x_, rows_, columns, dtype, w_ == 1 ? w : w_, m_, y_ == 1 ? y : y_, options,
                s, storageBytes_ < 0 ? storageBytes : storageBytes_, ws, workspaceBytes_ < 0 ? workspaceBytes : workspaceBytes_);

        Assert.Multiple(() =>
        {
            AssertRejected<ArgumentException>("x", () => Call(x_: 0));
            AssertRejected<ArgumentException>("stackedWeight", () => Call(w_: 0));
            AssertRejected<ArgumentException>("projection", () => Call(y_: 0));
            AssertRejected<ArgumentOutOfRangeException>("projectionColumns", () => Call(m_: 0));
            AssertRejected<ArgumentOutOfRangeException>("projectionColumns", () => Call(m_: int.MaxValue - 2));
            AssertRejected<ArgumentOutOfRangeException>("dtype", () => Call(dtype: (DType)9));
            AssertRejected<ArgumentOutOfRangeException>("K", () => Call(rows_: k - 1)); // options.K
            AssertRejected<ArgumentException>("storage", () => Call(storageBytes_: storageBytes - 1));
            AssertRejected<ArgumentException>("workspace", () => Call(workspaceBytes_: workspaceBytes - 1));
            Assert.That(() => engine.ProjectAndCompressInto(x, rows, columns, DType.Float32, w, m, y, null!, s, storageBytes),
                Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
            Assert.That(() => PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("projectionColumns"));
            Assert.That(() => PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, rows + 1, m),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("k"));
        });
        // Nothing was queued: the output and the weight's generator rows still hold what the test wrote.
        Assert.That(projection.ToArray(engine.Stream), Is.All.EqualTo(7f));
        Assert.That(weight.ToArray(engine.Stream), Is.All.EqualTo(5f));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    public void Split_outputs_are_the_column_ranges_of_one_output_and_the_compression_is_the_same(DType dtype)
    {
        if (dtype == DType.Float32) AssertSplitMatchesOneOutput<float>();
        else AssertSplitMatchesOneOutput<BFloat16>();
    }

    [Test]
    public void Bad_split_outputs_are_rejected_naming_the_output_before_any_work()
    {
        const int rows = 40, columns = 8, k = 4;
        var options = new PammOptions { K = k, Seed = 2 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<float>(rows, columns, 3));
        using var weight = Device.Allocate<float>((long)(6 + k) * columns);
        using var projection = Device.Allocate<float>((long)rows * 6);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, DType.Float32));
        projection.CopyFrom(Enumerable.Repeat(7f, rows * 6).ToArray());
        ulong y = projection.Address;

        void Call(params ProjectionOutput[] outputs) =>
            engine.ProjectAndCompressInto(input.Address, rows, columns, DType.Float32, weight.Address, outputs, options, storage.Address, storage.Length);

        Assert.Multiple(() =>
        {
            Assert.That(() => Call(), Throws.ArgumentException.With.Property("ParamName").EqualTo("outputs"));
            Assert.That(() => Call(new ProjectionOutput(y, 3), new ProjectionOutput(0, 3)),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("outputs").And.Message.Contains("outputs[1]"));
            Assert.That(() => Call(new ProjectionOutput(y, 3), new ProjectionOutput(y + 12, 3), new ProjectionOutput(y + 24, 0)),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputs").And.Message.Contains("outputs[2]"));
            Assert.That(() => Call(new ProjectionOutput(y, int.MaxValue), new ProjectionOutput(y, int.MaxValue)),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputs"));
            Assert.That(() => Call(new ProjectionOutput(y, int.MaxValue - 2)),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputs"));
        });
        Assert.That(projection.ToArray(engine.Stream), Is.All.EqualTo(7f));
    }

    [Test]
    public void The_buffer_overload_gives_the_pointer_overloads_result_and_checks_each_buffers_size()
    {
        const int rows = 90, columns = 12, m = 10, k = 7;
        var options = new PammOptions { K = k, Seed = 12 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<Half>(rows, columns, 13));
        using var weight = Upload(EngineTestData.Random<Half>(m + k, columns, 14));
        using var byPointer = Device.Allocate<Half>((long)rows * m);
        using var byBuffer = Device.Allocate<Half>((long)rows * m);
        long storageBytes = PammEngine.CompressedStorageBytes(rows, columns, k, DType.Float16);
        using var pointerStorage = Device.Allocate<byte>(storageBytes);
        using var bufferStorage = Device.Allocate<byte>(storageBytes);
        using var pointerResult = engine.ProjectAndCompressInto(input.Address, rows, columns, DType.Float16, weight.Address, m, byPointer.Address,
            options, pointerStorage.Address, storageBytes);
        using var bufferResult = engine.ProjectAndCompressInto(input, rows, columns, weight, m, byBuffer, options, bufferStorage);
        Assert.Multiple(() =>
        {
            CompressionComparison.AssertIdentical(CompressionResult.Of<Half>(bufferResult), CompressionResult.Of<Half>(pointerResult));
            Assert.That(byBuffer.ToArray(engine.Stream), Is.EqualTo(byPointer.ToArray(engine.Stream)));
        });
        using var shortWeight = Device.Allocate<Half>((long)(m + k) * columns - 1);
        using var shortProjection = Device.Allocate<Half>((long)rows * m - 1);
        Assert.Multiple(() =>
        {
            AssertRejected<ArgumentException>("stackedWeight", () => engine.ProjectAndCompressInto(input, rows, columns, shortWeight, m, byBuffer, options, bufferStorage));
            AssertRejected<ArgumentException>("projection", () => engine.ProjectAndCompressInto(input, rows, columns, weight, m, shortProjection, options, bufferStorage));
            AssertRejected<ArgumentException>("x", () => engine.ProjectAndCompressInto(input, rows + 1, columns, weight, m, byBuffer, options, bufferStorage));
        });
    }

    [Test]
    public void Repeating_every_stage_of_the_pass_changes_nothing()
    {
        // What the projection benchmark relies on: any stage can run again on what the whole pass left.
        const int rows = 150, columns = 16, m = 20, k = 11;
        var options = new PammOptions { K = k, Seed = 15, Epsilon = 0.6 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<BFloat16>(rows, columns, 16));
        using var weight = Upload(EngineTestData.Random<BFloat16>(m + k, columns, 17));
        using var projection = Device.Allocate<BFloat16>((long)rows * m);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, DType.BFloat16));
        using var workspace = Device.Allocate<byte>(PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, m));
        using var compressed = engine.ProjectAndCompressInto(input, rows, columns, weight, m, projection, options, storage, workspace);
        var expectedStorage = storage.ToArray(engine.Stream);
        var expectedProjection = projection.ToArray(engine.Stream);
        var pass = engine.PrepareProjectAndCompress(input.Address, weight.Address, [new ProjectionOutput(projection.Address, m)], CompressedParts.Of(compressed), options,
            ProjectionWorkspace.At(workspace.Address, rows, columns, k, m));
        pass.Compress.SampleGenerators();
        pass.Compress.Gather();
        pass.CopyGeneratorsIntoWeight();
        pass.Compress.RowSquaredNorms();
        pass.ProjectionGemm();
        pass.StoreProjection();
        pass.Assign();
        pass.Assign();
        pass.Run();
        Assert.Multiple(() =>
        {
            Assert.That(storage.ToArray(engine.Stream), Is.EqualTo(expectedStorage));
            Assert.That(projection.ToArray(engine.Stream), Is.EqualTo(expectedProjection));
        });
    }

    [Test]
    public void The_fused_call_never_waits_for_the_device()
    {
        const int rows = 120, columns = 16, m = 12, k = 9;
        var options = new PammOptions { K = k, Seed = 4 };
        using var stream = new CountingStream(Device.DefaultStream);
        using var engine = new PammEngine(Device, options, stream);
        using var input = Upload(EngineTestData.Random<float>(rows, columns, 5));
        using var weight = Device.Allocate<float>((long)(m + k) * columns);
        using var projection = Device.Allocate<float>((long)rows * m);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, DType.Float32));
        using var workspace = Device.Allocate<byte>(PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, m));
        int before = stream.Synchronizations;
        for (int step = 0; step < 3; step++)
        {
            using var compressed = engine.ProjectAndCompressInto(input.Address, rows, columns, DType.Float32, weight.Address, m,
                projection.Address, options with { Seed = (ulong)step }, storage.Address, storage.Length, workspace.Address, workspace.Length);
        }
        Assert.That(stream.Synchronizations, Is.EqualTo(before));
    }

    [Test]
    public void Workspace_size_is_the_float32_GEMM_output_and_the_compression_scratch_without_a_similarity_chunk()
    {
        const int rows = 1000, columns = 64, m = 96, k = 8;
        long bytes = PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, m);
        long gemmOutput = (long)rows * (m + k) * sizeof(float);
        long similarityChunk = (long)SimilarityChunking.ChunkRows(rows, columns, k) * k * sizeof(float);
        Assert.That(bytes, Is.GreaterThanOrEqualTo(gemmOutput));
        // At most one section's alignment more: the GEMM output starts on a section boundary after the compression's parts.
        Assert.That(bytes, Is.LessThanOrEqualTo(gemmOutput + PammEngine.CompressWorkspaceBytes(rows, columns, k) - similarityChunk
            + CompressedStorageLayout.SectionAlignment));
    }

    private void AssertMatchesCompressAndExact<T>(int rows, int columns, int projectionColumns, PammOptions options) where T : unmanaged =>
        AssertMatchesCompressAndExact(EngineTestData.Random<T>(rows, columns, rows * 31 + columns), rows, columns, projectionColumns, options);

    private void AssertMatchesCompressAndExact<T>(T[] x, int rows, int columns, int m, PammOptions options, bool projectionIsFinite = true)
        where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        int k = options.ResolveK(rows);
        var w = EngineTestData.Random<T>(m, columns, m * 13 + columns);
        // The weight's generator rows start as garbage: the engine must overwrite them.
        var stackedWeight = w.Concat(Enumerable.Repeat(ElementConvert.FromSingle<T>(float.NaN), k * columns)).ToArray();
        using var engine = new PammEngine(Device);
        using var input = Upload(x);
        using var weight = Upload(stackedWeight);
        using var projection = Device.Allocate<T>((long)rows * m);
        using var storage = Device.Allocate<byte>(PammEngine.CompressedStorageBytes(rows, columns, k, dtype));
        using var fused = engine.ProjectAndCompressInto(input.Address, rows, columns, dtype, weight.Address, m, projection.Address,
            options, storage.Address, storage.Length);
        using var compressed = engine.Compress(input.Address, rows, columns, dtype, options);

        var expected = CompressionResult.Of<T>(compressed);
        int nearTies = CompressionComparison.AssertAgree(x, rows, columns, CompressionResult.Of<T>(fused), expected);
        CompressionComparison.AssertAgree(x, rows, columns, CompressionResult.Of<T>(fused), CompressionResult.Of(CpuPamm.Compress<T>(x, rows, columns, options)));
        var weightAfter = weight.ToArray(engine.Stream);
        Assert.Multiple(() =>
        {
            Assert.That(weightAfter.AsSpan(0, m * columns).ToArray(), Is.EqualTo(w), "W is left as it was");
            Assert.That(weightAfter.AsSpan(m * columns).ToArray(), Is.EqualTo(compressed.CopyGenerators<T>()), "C under W");
        });
        if (projectionIsFinite) AssertExactProjection(x, w, rows, columns, m, projection.ToArray(engine.Stream), dtype);
        TestContext.Out.WriteLine($"{rows}×{columns}→{m} {typeof(T).Name}, k = {k}: {nearTies} near-ties, η = {fused.ReadDroppedRows()}");
    }

    /// <summary>
    /// Each y_ij against the exact dot product in double: float32 accumulation of n terms errs by at most n·u₃₂·Σ|terms|,
    /// and the result is rounded once to the output's dtype.
    /// </summary>
    private static void AssertExactProjection<T>(T[] x, T[] w, int rows, int columns, int m, T[] actual, DType dtype) where T : unmanaged
    {
        var wideX = EngineTestData.Widen<T>(x);
        var wideW = EngineTestData.Widen<T>(w);
        double u32 = EngineTestData.UnitRoundoff(DType.Float32), u = EngineTestData.UnitRoundoff(dtype);
        int failures = 0;
        for (int i = 0; i < rows && failures < 5; i++)
            for (int j = 0; j < m; j++)
            {
                double dot = 0, magnitude = 0;
                for (int q = 0; q < columns; q++)
                {
                    double term = wideX[i * columns + q] * wideW[j * columns + q];
                    dot += term;
                    magnitude += Math.Abs(term);
                }
                double value = ElementConvert.ToSingle(actual[(long)i * m + j]);
                double bound = columns * u32 * magnitude + u * Math.Abs(dot) + 1e-30;
                if (Math.Abs(value - dot) > bound && failures++ < 5)
                    Assert.Fail($"y[{i}, {j}] = {value}, exact {dot}, bound {bound}");
            }
    }

    private void AssertCallerWorkspaceMatchesOwn<T>() where T : unmanaged
    {
        const int rows = 210, columns = 20, m = 15, k = 11;
        var dtype = DTypes.Of<T>();
        var options = new PammOptions { K = k, Seed = 6, Epsilon = 0.8 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<T>(rows, columns, 7));
        using var weight = Upload(EngineTestData.Random<T>(m + k, columns, 8));
        using var ownProjection = Device.Allocate<T>((long)rows * m);
        using var callerProjection = Device.Allocate<T>((long)rows * m);
        long storageBytes = PammEngine.CompressedStorageBytes(rows, columns, k, dtype);
        using var ownStorage = Device.Allocate<byte>(storageBytes);
        using var callerStorage = Device.Allocate<byte>(storageBytes);
        using var workspace = Device.Allocate<byte>(PammEngine.ProjectAndCompressWorkspaceBytes(rows, columns, k, m));
        using var own = engine.ProjectAndCompressInto(input.Address, rows, columns, dtype, weight.Address, m, ownProjection.Address, options,
            ownStorage.Address, storageBytes);
        using var caller = engine.ProjectAndCompressInto(input.Address, rows, columns, dtype, weight.Address, m, callerProjection.Address, options,
            callerStorage.Address, storageBytes, workspace.Address, workspace.Length);
        Assert.Multiple(() =>
        {
            CompressionComparison.AssertIdentical(CompressionResult.Of<T>(caller), CompressionResult.Of<T>(own));
            Assert.That(callerProjection.ToArray(engine.Stream), Is.EqualTo(ownProjection.ToArray(engine.Stream)));
        });
    }

    private void AssertSplitMatchesOneOutput<T>() where T : unmanaged
    {
        // Columns that are no multiple of anything: 17 + 16 + 7 = 40.
        const int rows = 203, columns = 24, k = 9;
        int[] split = [17, 16, 7];
        int m = split.Sum();
        var dtype = DTypes.Of<T>();
        var options = new PammOptions { K = k, Seed = 31 };
        using var engine = new PammEngine(Device);
        using var input = Upload(EngineTestData.Random<T>(rows, columns, 32));
        using var weight = Upload(EngineTestData.Random<T>(m + k, columns, 33));
        using var whole = Device.Allocate<T>((long)rows * m);
        var parts = split.Select(cols => Device.Allocate<T>((long)rows * cols)).ToArray();
        try
        {
            long storageBytes = PammEngine.CompressedStorageBytes(rows, columns, k, dtype);
            using var wholeStorage = Device.Allocate<byte>(storageBytes);
            using var splitStorage = Device.Allocate<byte>(storageBytes);
            using var one = engine.ProjectAndCompressInto(input.Address, rows, columns, dtype, weight.Address, m, whole.Address, options,
                wholeStorage.Address, storageBytes);
            ProjectionOutput[] outputs = [.. parts.Zip(split, (part, cols) => new ProjectionOutput(part.Address, cols))];
            using var three = engine.ProjectAndCompressInto(input.Address, rows, columns, dtype, weight.Address, outputs, options,
                splitStorage.Address, storageBytes);
            var wholeValues = whole.ToArray(engine.Stream);
            Assert.Multiple(() =>
            {
                int first = 0;
                for (int p = 0; p < split.Length; p++)
                {
                    int cols = split[p], offset = first;
                    var expected = Enumerable.Range(0, rows).SelectMany(i => wholeValues.Skip(i * m + offset).Take(cols)).ToArray();
                    Assert.That(parts[p].ToArray(engine.Stream), Is.EqualTo(expected), $"output {p}: columns [{offset}, {offset + cols})");
                    first += cols;
                }
                CompressionComparison.AssertIdentical(CompressionResult.Of<T>(three), CompressionResult.Of<T>(one));
            });
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    private static void AssertRejected<TException>(string parameter, Action call) where TException : ArgumentException
    {
        var exception = Assert.Catch<TException>(() => call());
        Assert.That(exception?.ParamName, Is.EqualTo(parameter), exception?.Message);
    }
}
