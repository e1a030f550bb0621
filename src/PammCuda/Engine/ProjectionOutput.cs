namespace PammCuda.Engine;

/// <summary>
/// One output of <see cref="PammEngine.ProjectAndCompressInto(ulong, int, int, DType, ulong, ReadOnlySpan{ProjectionOutput}, PammOptions, ulong, long, ulong, long)"/>:
/// a dense row-major rows × <paramref name="Columns"/> matrix of X's dtype at <paramref name="Address"/> (device memory)
/// that receives the next <paramref name="Columns"/> columns of <c>X Wᵀ</c>, i.e. one projection (Q, K or V) in an
/// allocation of its own, so that a framework can free each when its last use ends.
/// </summary>
/// <param name="Address">Device address of the output.</param>
/// <param name="Columns">Its columns: the rows of this projection's weight in the stacked weight.</param>
public readonly record struct ProjectionOutput(ulong Address, int Columns);
