using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Cuda;

[Requires(Need.Nvrtc)]
public class NvrtcCompileTests
{
    private static readonly ComputeCapability[] Targets = [new(8, 0), new(9, 0)];
    private static ReadOnlySpan<byte> ElfMagic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    private string _cacheDirectory = "";

    [SetUp]
    public void CreateCache()
    {
        _cacheDirectory = CudaTestEnvironment.TempDirectory();
    }

    [TearDown]
    public void DeleteCache()
    {
        if (Directory.Exists(_cacheDirectory)) Directory.Delete(_cacheDirectory, recursive: true);
    }

    private KernelCompiler Compiler() => new(new KernelImageCache(_cacheDirectory));

    public static IEnumerable<TestCaseData> KernelUnits()
    {
        var units = KernelSources.TranslationUnits;
        if (units.Count == 0)
        {
            yield return new TestCaseData("(none)", 80).Ignore("kernels/ has no translation units on this branch yet.");
            yield break;
        }
        foreach (var unit in units)
            foreach (var target in Targets)
                yield return new TestCaseData(unit.Key, target.Number)
                    .SetName($"{nameof(Every_kernel_compiles_to_a_cubin_with_its_locals_in_registers)}({unit.Key}, sm_{target.Number})");
    }

    /// <summary>
    /// Every unit compiles, with the engine's options, to a cubin for each target; and ptxas's own account of it (<c>-v</c>,
    /// which changes only the log) shows no local array (a stack frame without spills: an array indexed by a value the
    /// compiler cannot unroll, which costs a kernel bound by bandwidth or latency far more than it shows in a test) and at
    /// most <see cref="MaxSpillBytes"/> of spills. ptxas may spill a register or two to keep an occupancy it aims at (NVRTC
    /// 12.4 held some <c>pamm_expand</c> instances at 64 registers with 8–32 bytes of spills where 11.8 used 64 without),
    /// which is its call; a kernel that needs far more registers than it gets spills much more.
    /// </summary>
    [TestCaseSource(nameof(KernelUnits))]
    public void Every_kernel_compiles_to_a_cubin_with_its_locals_in_registers(string unit, int architecture)
    {
        var source = KernelSources.TranslationUnits.Single(u => u.Key == unit).Value;
        var image = NvrtcCompiler.Compile(source, unit, KernelSources.Headers, $"sm_{architecture}",
            KernelCompiler.Options.Append("--ptxas-options=-v"));
        Assert.That(image.Format, Is.EqualTo(KernelImageFormat.Cubin));
        Assert.That(image.Architecture, Is.EqualTo($"sm_{architecture}"));
        Assert.That(image.Bytes.Span[..4].SequenceEqual(ElfMagic), $"{unit} for sm_{architecture} is not an ELF image");

        var frames = System.Text.RegularExpressions.Regex.Matches(image.Log,
            @"Function properties for (\w+)\s+ptxas\s+\.\s+(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads");
        Assert.That(frames, Is.Not.Empty, $"ptxas printed no function properties for {unit}:\n{image.Log}");
        var local = frames.Where(f =>
            {
                int frame = Bytes(f.Groups[2]), stores = Bytes(f.Groups[3]), loads = Bytes(f.Groups[4]);
                return (frame > 0 && stores == 0) || stores > MaxSpillBytes || loads > MaxSpillBytes;
            })
            .Select(f => f.Value.ReplaceLineEndings(" ")).ToList();
        Assert.That(local, Is.Empty);
    }

    private static int Bytes(System.Text.RegularExpressions.Group group) => int.Parse(group.Value, System.Globalization.CultureInfo.InvariantCulture);

    private const int MaxSpillBytes = 64;

    /// <summary>
    /// The reduction's first pass is the product's one read of G, bound by the bytes in flight, so its occupancy is part
    /// of its design: each instance fits at least 8 blocks an SM by registers (65,536 of them, allocated 8 a thread at a
    /// time), enough for the 1,024 blocks of b = 16 384, m = 2048 in bf16 to run in one wave on a 132-SM H100 or H200.
    /// With its loads in flight unpacked to float the bf16 instance took 70 registers on sm_90 (76 on sm_80): 7 blocks,
    /// 924 in a wave and a tail of 100.
    /// </summary>
    [TestCase(80)]
    [TestCase(90)]
    public void The_reductions_pass_over_G_fits_eight_blocks_an_SM(int architecture)
    {
        const int registersPerSm = 65_536, allocationUnit = 8, blocksWanted = 8;
        int threads = KernelSources.Constant("PAMM_REDUCE_THREADS");
        const string unit = "pamm_segmented_reduce.cu";
        var image = NvrtcCompiler.Compile(KernelSources.TranslationUnits.Single(u => u.Key == unit).Value, unit, KernelSources.Headers,
            $"sm_{architecture}", KernelCompiler.Options.Append("--ptxas-options=-v"));

        var registers = System.Text.RegularExpressions.Regex.Matches(image.Log,
                @"Compiling entry function '(pamm_reduce_chunks_\w+)'.*?Used (\d+) registers", System.Text.RegularExpressions.RegexOptions.Singleline)
            .ToDictionary(m => m.Groups[1].Value, m => Bytes(m.Groups[2]));
        Assert.That(registers.Keys, Is.EquivalentTo(new[] { "pamm_reduce_chunks_f32", "pamm_reduce_chunks_f16", "pamm_reduce_chunks_bf16" }), image.Log);
        foreach (var (kernel, used) in registers)
        {
            int allocated = (used + allocationUnit - 1) / allocationUnit * allocationUnit;
            Assert.That(registersPerSm / (allocated * threads), Is.GreaterThanOrEqualTo(blocksWanted),
                $"{kernel} on sm_{architecture} uses {used} registers a thread");
        }
    }

    [TestCase(80)]
    [TestCase(90)]
    public void Own_kernel_with_in_memory_header_compiles_to_a_cubin(int architecture)
    {
        var image = Compiler().Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", ComputeCapability.FromNumber(architecture), CudaTestEnvironment.ScaleAddHeaders);
        Assert.That(image.Format, Is.EqualTo(KernelImageFormat.Cubin));
        Assert.That(image.Bytes.Span[..4].SequenceEqual(ElfMagic));
        Assert.That(image.FromCache, Is.False);
    }

    [Test]
    public void Ptx_target_gives_ptx_text_naming_the_virtual_architecture()
    {
        var image = NvrtcCompiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", CudaTestEnvironment.ScaleAddHeaders, "compute_80", KernelCompiler.Options);
        Assert.That(image.Format, Is.EqualTo(KernelImageFormat.Ptx));
        var text = System.Text.Encoding.ASCII.GetString(image.Bytes.Span);
        Assert.That(text, Does.Contain(".target sm_80").And.Contain(".entry scale_add"));
        Assert.That(image.Bytes.Span[^1], Is.Zero, "PTX must be NUL-terminated for cuModuleLoadDataEx");
    }

    [Test]
    public void Broken_source_throws_NvrtcException_carrying_the_compiler_log()
    {
        const string broken = "extern \"C\" __global__ void broken(float* x)\n{\n    x[0] = undefined_name;\n}\n";
        var exception = Assert.Throws<NvrtcException>(() => Compiler().Compile(broken, "broken.cu", new ComputeCapability(8, 0), []))!;
        Assert.That(exception.Name, Is.EqualTo("NVRTC_ERROR_COMPILATION"));
        Assert.That(exception.Log, Does.Contain("broken.cu(3)").And.Contain("undefined_name"));
        Assert.That(exception.Message, Does.Contain(exception.Log));
        Assert.That(Directory.GetFiles(_cacheDirectory), Is.Empty, "a failed compile must not be cached");
    }

    /// <summary>Units that differ in a constant, so that each compiles to an image of its own.</summary>
    private static KeyValuePair<string, string>[] ScaleAddUnits(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new KeyValuePair<string, string>(
            $"scale_add_{i}.cu", CudaTestEnvironment.ScaleAddSource.Replace("scaled(x[i], a)", $"scaled(x[i], a) + {i}.0f")))];

    [Test]
    public void Units_compiled_side_by_side_are_the_one_by_one_images_in_the_units_order()
    {
        var units = ScaleAddUnits(6);
        var target = new ComputeCapability(9, 0);
        var sideBySide = Compiler().CompileAll(units, target, CudaTestEnvironment.ScaleAddHeaders);

        var oneByOne = new KernelCompiler(new KernelImageCache(Path.Combine(_cacheDirectory, "one-by-one")));
        Assert.That(sideBySide.Select(image => image.ProgramName), Is.EqualTo(units.Select(unit => unit.Key)));
        for (int i = 0; i < units.Length; i++)
        {
            var alone = oneByOne.Compile(units[i].Value, units[i].Key, target, CudaTestEnvironment.ScaleAddHeaders);
            Assert.That(sideBySide[i].FromCache, Is.False);
            Assert.That(sideBySide[i].Bytes.ToArray(), Is.EqualTo(alone.Bytes.ToArray()), units[i].Key);
        }
        Assert.That(sideBySide.Select(image => Convert.ToHexString(image.Bytes.Span)).Distinct().Count(), Is.EqualTo(units.Length),
            "the units differ, so must their images");
        Assert.That(Compiler().CompileAll(units, target, CudaTestEnvironment.ScaleAddHeaders).Select(image => image.FromCache), Is.All.True);
    }

    [Test]
    public void The_first_unit_in_order_that_fails_throws_its_own_log_and_the_others_are_cached()
    {
        var units = ScaleAddUnits(5);
        units[1] = new(units[1].Key, units[1].Value.Replace("+ y[i]", "+ undefined_one"));
        units[3] = new(units[3].Key, units[3].Value.Replace("+ y[i]", "+ undefined_three"));
        var exception = Assert.Throws<NvrtcException>(() =>
            Compiler().CompileAll(units, new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders))!;
        Assert.That(exception.Log, Does.Contain("scale_add_1.cu").And.Contain("undefined_one"));
        Assert.That(exception.Log, Does.Not.Contain("undefined_three"));
        Assert.That(Directory.GetFiles(_cacheDirectory, "*.img"), Has.Length.EqualTo(3), "the three units that compile are cached");
    }

    [Test]
    public void Unknown_option_throws_NvrtcException_naming_it()
    {
        var exception = Assert.Throws<NvrtcException>(() =>
            NvrtcCompiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", CudaTestEnvironment.ScaleAddHeaders, "sm_80", ["--no-such-option"]))!;
        Assert.That(exception.Name, Is.EqualTo("NVRTC_ERROR_INVALID_OPTION"));
    }

    [Test]
    public void Second_compile_is_a_cache_hit_with_the_same_bytes()
    {
        var compiler = Compiler();
        var first = compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders);
        var second = compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders);
        Assert.That(first.FromCache, Is.False);
        Assert.That(second.FromCache, Is.True);
        Assert.That(second.Bytes.ToArray(), Is.EqualTo(first.Bytes.ToArray()));
        Assert.That(second.Architecture, Is.EqualTo("sm_80"));
        Assert.That(Directory.GetFiles(_cacheDirectory, "*.img"), Has.Length.EqualTo(1));
    }

    [Test]
    public void Changing_the_source_the_header_or_the_architecture_misses_the_cache()
    {
        var compiler = Compiler();
        var headers = CudaTestEnvironment.ScaleAddHeaders;
        compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), headers);
        Assert.That(compiler.Compile(CudaTestEnvironment.ScaleAddSource + "\n", "scale_add.cu", new ComputeCapability(8, 0), headers).FromCache, Is.False);
        Assert.That(compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(9, 0), headers).FromCache, Is.False);
        KeyValuePair<string, string>[] changedHeader = [new("scale_helpers.cuh", "inline float scaled(float v, float a) { return v * a; }\n")];
        Assert.That(compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), changedHeader).FromCache, Is.False);
        Assert.That(Directory.GetFiles(_cacheDirectory, "*.img"), Has.Length.EqualTo(4));
    }

    [Test]
    public void Corrupt_cache_entry_is_rebuilt_by_the_compiler()
    {
        var compiler = Compiler();
        var first = compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders);
        var entry = Directory.GetFiles(_cacheDirectory, "*.img").Single();
        var bytes = File.ReadAllBytes(entry);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(entry, bytes);

        var rebuilt = compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders);
        Assert.That(rebuilt.FromCache, Is.False);
        Assert.That(rebuilt.Bytes.ToArray(), Is.EqualTo(first.Bytes.ToArray()));
        var again = compiler.Compile(CudaTestEnvironment.ScaleAddSource, "scale_add.cu", new ComputeCapability(8, 0), CudaTestEnvironment.ScaleAddHeaders);
        Assert.That(again.FromCache, Is.True);
    }

    [Test]
    public void Nvrtc_reports_its_version_and_supports_sm_80_and_sm_90()
    {
        Assert.That(NvrtcCompiler.Version, Is.GreaterThanOrEqualTo(new Version(11, 2)));
        Assert.That(NvrtcCompiler.SupportedArchitectures, Is.Not.Null.And.Contains(80).And.Contains(90).And.Ordered);
    }

    // A run that puts another NVRTC on the library path (scripts/nvrtc12-tests.sh) names the version it expects, so
    // that the compile tests cannot pass on a fallback to the system's NVRTC without anyone noticing.
    [Test]
    public void Nvrtc_is_the_version_the_run_expects()
    {
        var expected = Environment.GetEnvironmentVariable("PAMM_EXPECT_NVRTC");
        if (string.IsNullOrEmpty(expected))
            Assert.Ignore("PAMM_EXPECT_NVRTC (major.minor) is not set; scripts/nvrtc12-tests.sh sets it");
        Assert.That(NvrtcCompiler.Version, Is.EqualTo(Version.Parse(expected)), NvrtcCompiler.CheckAvailability().Reason);
    }
}
