using BenchmarkDotNet.Attributes;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// Each stage of the engine's pipeline on its own, float32 and bfloat16, timed by device events per invocation on
/// inputs the whole pipeline left in place: each row calls one stage method of the engine's own
/// <c>CompressPass</c> or <c>ProductPass</c>. The similarity GEMM and the assignment run as
/// one chunk at these shapes, as in the engine (the setup checks it); the row norms are timed although the engine runs them only when ε &lt; 1.
/// </summary>
public class GpuStageBenchmarks() : GpuStageBenchmarksBase(typeof(GpuStageBenchmarks), ShapeSets.DTypes)
{
    /// <summary>Generator sampling.</summary>
    [Benchmark]
    [Measures(Operation.SampleGenerators)]
    public void StageSampleGenerators() => Time(nameof(StageSampleGenerators), Compress.SampleGenerators);

    /// <summary>Gather of C, ‖C_j‖² and the row map.</summary>
    [Benchmark]
    [Measures(Operation.Gather)]
    public void StageGather() => Time(nameof(StageGather), Compress.Gather);

    /// <summary>Row norms ‖X_i‖².</summary>
    [Benchmark]
    [Measures(Operation.RowSquaredNorms)]
    public void StageRowSquaredNorms() => Time(nameof(StageRowSquaredNorms), Compress.RowSquaredNorms);

    /// <summary>Similarity GEMM (all rows: one chunk).</summary>
    [Benchmark]
    [Measures(Operation.Similarities)]
    public void StageSimilarities() => Time(nameof(StageSimilarities), () => Compress.Similarities(0));

    /// <summary>Assignment (all rows: one chunk).</summary>
    [Benchmark]
    [Measures(Operation.Assign)]
    public void StageAssign() => Time(nameof(StageAssign), () => Compress.Assign(0));

    /// <summary>Radix-sort grouping.</summary>
    [Benchmark]
    [Measures(Operation.GroupRows)]
    public void StageGroupRows() => Time(nameof(StageGroupRows), Product.GroupRows);

    /// <summary>First reduction pass.</summary>
    [Benchmark]
    [Measures(Operation.ReduceChunks)]
    public void StageReduceChunks() => Time(nameof(StageReduceChunks), Product.ReduceChunks);

    /// <summary>Second reduction pass.</summary>
    [Benchmark]
    [Measures(Operation.ReduceGroups)]
    public void StageReduceGroups() => Time(nameof(StageReduceGroups), Product.ReduceGroups);

    /// <summary>The last stage: a·β·Cᵀ B̃ written in the output's dtype.</summary>
    [Benchmark]
    [Measures(Operation.Expand)]
    public void StageExpand() => Time(nameof(StageExpand), Product.Expand);

    /// <summary>The same stage as it was before <c>pamm_expand</c>: cuBLAS's strict float32 GEMM, then the 16-bit rounding pass.</summary>
    [Benchmark]
    [Measures(Operation.ExpandByCublas)]
    public void StageExpandByCublas() => Time(nameof(StageExpandByCublas), LastStageByCublas);

    /// <summary>The other sort-free product, in the place of the grouping: the dense assignment Pᵀ from f and α.</summary>
    [Benchmark]
    [Measures(Operation.AssignmentMatrix)]
    public void StageAssignmentMatrix() => Time(nameof(StageAssignmentMatrix), AssignmentMatrix);

    /// <summary>The other sort-free product, in the place of both reduction passes: B̃ = Pᵀ G by one cuBLAS GEMM.</summary>
    [Benchmark]
    [Measures(Operation.ReduceByGemm)]
    public void StageReduceByGemm() => Time(nameof(StageReduceByGemm), ReduceByGemm);
}
