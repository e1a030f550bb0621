using PammCuda.Cpu;

namespace PammCuda.Tests.Cpu;

/// <summary>Every bad input is rejected before any work, with an exception naming the argument at fault.</summary>
public class CpuPammArgumentTests
{
    private static readonly float[] X = [1, 2, 3, 4, 5, 6];   // 3 × 2
    private static readonly float[] G = [1, 0, 0, 1, 1, 1];   // 3 × 2

    private static CpuCompressedActivation<float> Compressed => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { K = 2 });

    [Test]
    public void Compress_rejects_bad_shapes_naming_the_argument()
    {
        var options = new PammOptions { K = 1 };
        Assert.That(() => CpuPamm.Compress<float>(X, 0, 2, options), ThrowsOutOfRange("rows"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, -1, options), ThrowsOutOfRange("columns"));
        Assert.That(() => CpuPamm.Compress<float>(null, 3, 2, options), ThrowsArgument("x"));
        Assert.That(() => CpuPamm.Compress<float>(X, 4, 2, options), ThrowsArgument("x").And.Message.Contains("too small"));
        Assert.That(() => CpuPamm.Compress<float>(X, 2, 2, options), ThrowsArgument("x").And.Message.Contains("too large"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("options"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, options, null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("parallelOptions"));
    }

    [Test]
    public void Compress_rejects_bad_options_naming_the_option()
    {
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { K = 4 }), ThrowsOutOfRange("K"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { K = 0 }), ThrowsOutOfRange("K"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { Ratio = 1.5 }), ThrowsOutOfRange("Ratio"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { Ratio = 0 }), ThrowsOutOfRange("Ratio"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { Epsilon = -0.1 }), ThrowsOutOfRange("Epsilon"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { Epsilon = double.NaN }), ThrowsOutOfRange("Epsilon"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { GeneratorIndices = [3] }), ThrowsOutOfRange("GeneratorIndices"));
        Assert.That(() => CpuPamm.Compress<float>(X, 3, 2, new PammOptions { GeneratorIndices = [1, 1] }), ThrowsArgument("GeneratorIndices"));
    }

    [Test]
    public void Unsupported_element_types_are_refused()
    {
        Assert.That(() => CpuPamm.Compress<double>(new double[6], 3, 2, new PammOptions()), Throws.TypeOf<NotSupportedException>());
        Assert.That(() => CpuPamm.ApproxMatmul<float, double, float>(Compressed, new double[6], 2, new float[4]), Throws.TypeOf<NotSupportedException>());
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, int>(Compressed, G, 2, new int[4]), Throws.TypeOf<NotSupportedException>());
        Assert.That(() => CpuPamm.ExactMatmul<int, float, float>(new int[6], 3, 2, G, 2, new float[4]), Throws.TypeOf<NotSupportedException>());
    }

    [Test]
    public void ApproxMatmul_rejects_bad_arguments_naming_them()
    {
        var compressed = Compressed;
        var output = new float[4];
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(null!, G, 2, output), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("compressed"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, null, 2, output), ThrowsArgument("gradient"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 0, output), ThrowsOutOfRange("gradientColumns"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 3, output), ThrowsArgument("gradient").And.Message.Contains("too small"));
        // A gradient of another batch (4 rows against 3 compressed rows).
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, new float[8], 2, output), ThrowsArgument("gradient").And.Message.Contains("too large"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 2, new float[3]), ThrowsArgument("output"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 2, null), ThrowsArgument("output"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 2, output, (ProductLayout)7), ThrowsOutOfRange("layout"));
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(compressed, G, 2, output, ProductLayout.InputByGradient, 1, 0, null!),
            Throws.ArgumentNullException.With.Property("ParamName").EqualTo("parallelOptions"));
    }

    [Test]
    public void ExactMatmul_rejects_bad_arguments_naming_them()
    {
        var output = new float[4];
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 0, 2, G, 2, output), ThrowsOutOfRange("rows"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 0, G, 2, output), ThrowsOutOfRange("columns"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(null, 3, 2, G, 2, output), ThrowsArgument("x"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 1, G, 2, output), ThrowsArgument("x").And.Message.Contains("too large"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 2, G, -2, output), ThrowsOutOfRange("gradientColumns"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 2, null, 2, output), ThrowsArgument("gradient"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 2, G, 1, output), ThrowsArgument("gradient").And.Message.Contains("too large"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 2, G, 2, new float[2]), ThrowsArgument("output"));
        Assert.That(() => CpuPamm.ExactMatmul<float, float, float>(X, 3, 2, G, 2, output, (ProductLayout)(-1)), ThrowsOutOfRange("layout"));
    }

    [Test]
    public void AssignmentOf_rejects_rows_outside_the_input()
    {
        var compressed = Compressed;
        Assert.That(() => compressed.AssignmentOf(-1), ThrowsOutOfRange("row"));
        Assert.That(() => compressed.AssignmentOf(3), ThrowsOutOfRange("row"));
    }

    [Test]
    public void A_rejected_call_leaves_the_output_untouched()
    {
        float[] output = [9, 9, 9, 9];
        Assert.That(() => CpuPamm.ApproxMatmul<float, float, float>(Compressed, G, 2, output, (ProductLayout)7), Throws.Exception);
        Assert.That(output, Is.All.EqualTo(9f));
    }

    private static NUnit.Framework.Constraints.EqualStringConstraint ThrowsArgument(string name) =>
        Throws.TypeOf<ArgumentException>().With.Property("ParamName").EqualTo(name);

    private static NUnit.Framework.Constraints.EqualStringConstraint ThrowsOutOfRange(string name) =>
        Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo(name);
}
