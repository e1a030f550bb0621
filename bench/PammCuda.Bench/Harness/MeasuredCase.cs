using System.Reflection;
using BenchmarkDotNet.Running;

namespace PammCuda.Bench.Harness;

/// <summary>A benchmark case read back from BenchmarkDotNet: its key, operation and the bytes it must move.</summary>
/// <param name="Key">Where its records are.</param>
/// <param name="Operation">What it times.</param>
/// <param name="IsReference">Whether others are compared with it (see <see cref="MeasuresAttribute.IsReference"/>).</param>
public sealed record MeasuredCase(CaseKey Key, Operation Operation, bool IsReference)
{
    /// <summary>The case's shape and dtype.</summary>
    public ShapeKey Shape => Key.Shape;

    /// <summary>Reads a case; null for a method without <see cref="MeasuresAttribute"/>.</summary>
    /// <exception cref="InvalidOperationException">The benchmark class lacks a parameter every class must have.</exception>
    public static MeasuredCase? From(BenchmarkCase benchmarkCase)
    {
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        var method = benchmarkCase.Descriptor.WorkloadMethod;
        if (method.GetCustomAttribute<MeasuresAttribute>() is not { } measures)
            return null;
        var parameters = benchmarkCase.Parameters;
        var dtype = measures.FixedDType ?? (DType)Required(benchmarkCase, ParameterNames.DType);
        var ratio = parameters[ParameterNames.Ratio] as GeneratorRatio;
        var shape = new ShapeKey(
            benchmarkCase.Descriptor.Type,
            (int)Required(benchmarkCase, ParameterNames.Width),
            (int)Required(benchmarkCase, ParameterNames.Rows),
            ratio?.Denominator ?? 0,
            dtype);
        return new MeasuredCase(new CaseKey(shape, method.Name), measures.Operation, measures.IsReference);
    }

    /// <summary>
    /// Bytes the operation must read and write at least (X and G b × n, the output n × n, the compressed form as
    /// stored, or what a pipeline stage reads and writes); null when it needs the compressed size and none was recorded,
    /// and for sampling and the product scalars, which move next to nothing.
    /// </summary>
    public long? MinimumBytes(CompressionRecord? compression)
    {
        long element = Shape.DType.SizeOf();
        long input = (long)Shape.Rows * Shape.Width * element;
        long output = (long)Shape.Width * Shape.Width * element;
        long? stored = compression?.StoredBytes;
        return Operation switch
        {
            Operation.Compress => input + stored,
            Operation.CompressRefined => 3 * input + stored,
            Operation.ApproxMatmul => input + stored + output,
            Operation.CompressAndQkv or Operation.CompressAndQkvBatched => input + stored + 3 * (input + stored + output),
            Operation.ExactGemm => 2 * input + output,
            Operation.Copy => 2 * (2 * input),
            Operation.SampleGenerators => null,
            // X, the 3n × n weight and the b × 3n projection; with compression also the stored form.
            Operation.QkvGemm => input + 3 * (long)Shape.Width * Shape.Width * element + 3 * input,
            Operation.QkvGemmWithCompression or Operation.QkvGemmThenCompress or Operation.QkvGemmBesideCompress
                or Operation.QkvGemmBesideCompressHighPriority =>
                input + 3 * (long)Shape.Width * Shape.Width * element + 3 * input + stored,
            // X, [W; C] ((3n + k) × n) and the b × (3n + k) output.
            Operation.QkvAndSimilarityGemm => input + (3L * Shape.Width + GeneratorCount) * (Shape.Width + (long)Shape.Rows) * element,
            _ when StageTraffic.Covers(Operation) => StageTraffic.MinimumBytes(Operation, Shape),
            _ => throw new InvalidOperationException($"No byte count for {Operation}."),
        };
    }

    /// <summary>k of the case's ratio (1/denominator) at its rows.</summary>
    private int GeneratorCount => Shape.RatioDenominator > 0
        ? new PammOptions { Ratio = 1.0 / Shape.RatioDenominator }.ResolveK(Shape.Rows)
        : throw new InvalidOperationException($"{Operation} needs a ratio parameter.");

    private static object Required(BenchmarkCase benchmarkCase, string name) =>
        benchmarkCase.Parameters[name] ?? throw new InvalidOperationException(
            $"{benchmarkCase.Descriptor.Type.Name} has no parameter '{name}', which the result columns need.");
}
