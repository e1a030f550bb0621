namespace PammCuda;

/// <summary>
/// One product of a batch (<see cref="Engine.PammEngine.ApproxMatmulBatch"/>): a gradient G, row-major
/// rows × <see cref="GradientColumns"/>, and the device address where its product goes, in the batch's layout and dtype.
/// </summary>
/// <param name="Gradient">G's device address.</param>
/// <param name="GradientColumns">m, G's columns.</param>
/// <param name="Output">The product's device address: n × m, or m × n for <see cref="ProductLayout.GradientByInput"/>.</param>
public readonly record struct BatchedProduct(ulong Gradient, int GradientColumns, ulong Output);
