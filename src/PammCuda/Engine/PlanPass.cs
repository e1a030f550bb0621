using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The stages that build a compression's <see cref="ProductPlan"/>: the rows grouped by generator and, for 16-bit
/// generators, their float32 copy. Run once per compression (by its first product, or by
/// <see cref="PammEngine.PrepareProductsInto"/>); every stage rewrites all it writes, so it may be repeated.
/// </summary>
internal readonly struct PlanPass(IDeviceStream stream, CompressedParts compressed, ProductPlan plan)
{
    /// <summary>16-bit generators, widened to float32 once, for the last stage of every product (<c>pamm_expand</c> reads float32).</summary>
    public bool WidensGenerators => compressed.DType != DType.Float32;

    /// <summary>Every stage, in order.</summary>
    public void Run()
    {
        GroupRows();
        if (WidensGenerators) WidenGenerators();
    }

    /// <summary>The rows grouped by generator: a stable radix sort of f into the plan.</summary>
    public void GroupRows() => RowGrouping.Sort(stream, plan, compressed.Assignment, compressed.Rows, compressed.K);

    /// <summary>16-bit C widened to float32 into the plan.</summary>
    /// <exception cref="InvalidOperationException">The generators are float32 already.</exception>
    public void WidenGenerators()
    {
        if (!WidensGenerators) throw new InvalidOperationException("Float32 generators are not widened.");
        PammKernels.ConvertToSingle(stream, compressed.DType, compressed.Generators, (long)compressed.K * compressed.Columns,
            plan.WideGenerators);
    }
}
