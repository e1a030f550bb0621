namespace PammCuda.Cli;

/// <summary>How far an approximate product is from the exact one.</summary>
internal static class RelativeError
{
    /// <summary><c>‖approximate − exact‖_F / ‖exact‖_F</c>, accumulated in double; 0 when both are zero, +∞ when only the exact product is.</summary>
    public static double Frobenius(ReadOnlySpan<float> approximate, ReadOnlySpan<float> exact)
    {
        if (approximate.Length != exact.Length)
            throw new ArgumentException($"The approximate product has {approximate.Length} elements, the exact one {exact.Length}.", nameof(approximate));
        double difference = 0, reference = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            double d = (double)approximate[i] - exact[i];
            difference += d * d;
            reference += (double)exact[i] * exact[i];
        }
        if (reference == 0) return difference == 0 ? 0 : double.PositiveInfinity;
        return Math.Sqrt(difference / reference);
    }
}
