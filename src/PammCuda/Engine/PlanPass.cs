using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The stage that builds a compression's <see cref="ProductPlan"/>: the rows grouped by generator. Run once per compression
/// (by its first product, or by <see cref="PammEngine.PrepareProductsInto"/>); it rewrites all it writes, so it may be repeated.
/// </summary>
internal readonly struct PlanPass(IDeviceStream stream, CompressedParts compressed, ProductPlan plan)
{
    /// <summary>Every stage, in order.</summary>
    public void Run() => GroupRows();

    /// <summary>The rows grouped by generator: a stable radix sort of f into the plan.</summary>
    public void GroupRows() => RowGrouping.Sort(stream, plan, compressed.Assignment, compressed.Rows, compressed.K);
}
