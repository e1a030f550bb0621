using System.Text.RegularExpressions;
using PammCuda.Devices;
using PammCuda.Engine;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// What C# and CUDA must agree on, checked from the kernel sources themselves: every exported kernel has a declaration
/// the launcher reads, launch geometry comes from the kernels' defines, and a launch that does not match its kernel's
/// signature or launch bounds fails before it is queued.
/// </summary>
public class KernelContractTests
{
    [Test]
    public void Every_exported_kernel_has_a_declaration_with_its_launch_bounds_and_parameters()
    {
        var exported = KernelSources.TranslationUnits.SelectMany(unit => KernelSources.ExportedKernels(unit.Value)).ToList();
        Assert.That(exported, Is.Unique);
        Assert.That(KernelSources.Declarations.Keys, Is.EquivalentTo(exported));
        var gather = KernelSources.Declarations["pamm_gather_bf16"];
        Assert.Multiple(() =>
        {
            Assert.That(gather.LaunchBoundsThreads, Is.EqualTo(KernelSources.Constant("PAMM_GATHER_THREADS")));
            Assert.That(gather.Parameters.Select(p => p.Name),
                Is.EqualTo(new[] { "x", "columns", "generator_rows", "k", "generators", "squared_norms", "row_to_generator", "gemm_constants", "dropped" }));
            Assert.That(gather.Parameters.Select(p => p.Kind), Is.EqualTo(new[]
            {
                KernelParameterKind.Pointer, KernelParameterKind.Int32, KernelParameterKind.Pointer, KernelParameterKind.Int32,
                KernelParameterKind.Pointer, KernelParameterKind.Pointer, KernelParameterKind.Pointer, KernelParameterKind.Pointer,
                KernelParameterKind.Pointer,
            }));
            Assert.That(KernelSources.Declarations["pamm_assign_u16"].Parameters.Select(p => p.Kind),
                Has.Exactly(2).EqualTo(KernelParameterKind.Int64).And.Exactly(1).EqualTo(KernelParameterKind.UInt64));
        });
    }

    [Test]
    public void Instances_sharing_a_parameter_macro_are_declared_with_its_expansion()
    {
        const string unit = """
            #define SOME_PARAMETERS(T, A)                       \
                const T* __restrict__ x, long long count,      \
                A* __restrict__ alpha
            extern "C" __global__ void __launch_bounds__(64) some_u8(SOME_PARAMETERS(unsigned char, float))
            { }
            PAMM_EXPORT_KERNEL(some_u8)
            extern "C" __global__ void __launch_bounds__(64) some_plain(const int* __restrict__ x, long long count, float a)
            { }
            PAMM_EXPORT_KERNEL(some_plain)
            """;
        var declarations = KernelSources.ParseDeclarations("unit.cu", unit).ToDictionary(d => d.Name);
        Assert.Multiple(() =>
        {
            Assert.That(declarations["some_u8"].Parameters.Select(p => p.Name), Is.EqualTo(new[] { "x", "count", "alpha" }));
            Assert.That(declarations["some_u8"].Parameters.Select(p => p.Kind),
                Is.EqualTo(new[] { KernelParameterKind.Pointer, KernelParameterKind.Int64, KernelParameterKind.Pointer }));
            Assert.That(declarations["some_plain"].Parameters.Select(p => p.Kind),
                Is.EqualTo(new[] { KernelParameterKind.Pointer, KernelParameterKind.Int64, KernelParameterKind.Float32 }));
            Assert.That(declarations["some_u8"].LaunchBoundsThreads, Is.EqualTo(64));
        });
        // Every instance of the library's families is declared alike: the α-bf16 assignment takes what the f32 one takes.
        Assert.That(KernelSources.Declarations["pamm_assign_alpha_bf16_u8"].Parameters,
            Is.EqualTo(KernelSources.Declarations["pamm_assign_i32"].Parameters));
    }

    [TestCase("OTHER_PARAMETERS(float)", "does not #define")]
    [TestCase("SOME_PARAMETERS(float)", "passes 1 arguments to SOME_PARAMETERS, which takes 2")]
    public void A_parameter_macro_that_is_missing_or_miscalled_is_named(string parameters, string message)
    {
        string unit = $$"""
            #define SOME_PARAMETERS(T, A) const T* x, A* y
            extern "C" __global__ void __launch_bounds__(32) some({{parameters}})
            { }
            PAMM_EXPORT_KERNEL(some)
            """;
        Assert.That(() => KernelSources.ParseDeclarations("unit.cu", unit),
            Throws.InvalidOperationException.With.Message.Contains(message).And.Message.Contains("some"));
    }

    [Test]
    public void Every_kernel_is_written_for_whole_warps()
    {
        // The warp-per-row kernels give each block threads / 32 rows: a block that is not whole warps would skip rows.
        foreach (var declaration in KernelSources.Declarations.Values)
            Assert.That(declaration.LaunchBoundsThreads % PammKernels.WarpSize, Is.Zero, declaration.Name);
    }

    [Test]
    public void Every_block_size_define_is_a_kernels_launch_bounds()
    {
        // A *_THREADS define that no __launch_bounds__ names would be a number C# reads that no kernel is held to.
        var bounds = KernelSources.TranslationUnits
            .SelectMany(unit => Regex.Matches(unit.Value, @"__launch_bounds__\((\w+)\)").Select(match => match.Groups[1].Value))
            .ToHashSet();
        var threadDefines = KernelSources.TranslationUnits
            .SelectMany(unit => Regex.Matches(unit.Value, @"#define\s+(PAMM_\w+_THREADS)\s").Select(match => match.Groups[1].Value));
        Assert.That(threadDefines, Is.SubsetOf(bounds));
    }

    [Test]
    public void Geometry_constants_are_the_kernels_defines()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PammKernels.ReduceChunk, Is.EqualTo(KernelSources.Constant("PAMM_REDUCE_CHUNK")));
            // The one-launch sampling path's bound is the rows its one block holds, a few keys in each thread's registers.
            Assert.That(PammKernels.SampleBlockRows, Is.EqualTo(
                KernelSources.Constant("PAMM_SAMPLE_BLOCK_THREADS") * KernelSources.Constant("PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD")));
            Assert.That(KernelSources.Declarations["pamm_sample_block"].LaunchBoundsThreads, Is.EqualTo(KernelSources.Constant("PAMM_SAMPLE_BLOCK_THREADS")));
            Assert.That(PammKernels.RowsPerBlock((uint)KernelSources.Constant("PAMM_ASSIGN_THREADS")),
                Is.EqualTo(KernelSources.Constant("PAMM_ASSIGN_THREADS") / 32));
            Assert.That(() => KernelSources.Constant("PAMM_NO_SUCH_NUMBER"), Throws.TypeOf<KeyNotFoundException>()
                .With.Message.Contains("PAMM_NO_SUCH_NUMBER"));
        });
    }

    [Test]
    public void A_launch_that_does_not_match_the_signature_is_refused_naming_what_differs()
    {
        var gather = KernelSources.Declarations["pamm_gather_f32"];
        uint threads = (uint)gather.LaunchBoundsThreads;
        KernelArgument[] right =
        [
            KernelArgument.Pointer(16), KernelArgument.Int32(4), KernelArgument.Pointer(32), KernelArgument.Int32(2),
            KernelArgument.Pointer(48), KernelArgument.Pointer(64), KernelArgument.Pointer(80), KernelArgument.Pointer(96),
            KernelArgument.Pointer(112),
        ];
        Assert.That(() => gather.CheckLaunch(threads, right), Throws.Nothing);

        KernelArgument[] missing = right[..^1];
        KernelArgument[] swapped = [right[0], right[2], right[1], .. right[3..]];
        KernelArgument[] wider = [right[0], KernelArgument.Int64(4), .. right[2..]];
        Assert.Multiple(() =>
        {
            Assert.That(() => gather.CheckLaunch(threads, missing), Throws.InvalidOperationException.With.Message.Contains("takes 9 arguments"));
            Assert.That(() => gather.CheckLaunch(threads, swapped), Throws.InvalidOperationException.With.Message.Contains("argument 1 (columns)"));
            Assert.That(() => gather.CheckLaunch(threads, wider), Throws.InvalidOperationException.With.Message.Contains("Int32 but was given Int64"));
            Assert.That(() => gather.CheckLaunch(threads / 2, right), Throws.InvalidOperationException.With.Message.Contains("__launch_bounds__"));
        });
    }

    [Test]
    public void Kernel_names_of_an_unknown_dtype_are_refused()
    {
        var family = KernelFamily.PerDType("pamm_gather");
        var widths = KernelFamily.PerAssignmentWidth("pamm_assign");
        Assert.Multiple(() =>
        {
            Assert.That(family.For(DType.Float16), Is.EqualTo("pamm_gather_f16"));
            Assert.That(() => family.For((DType)7), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(widths.For(AssignmentWidth.Byte), Is.EqualTo("pamm_assign_u8"));
            Assert.That(() => widths.For((AssignmentWidth)3), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => PammKernels.StoreOutput(null!, DType.Float32, 0, 1, 0f, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("outputType"));
        });
    }
}
