namespace PammCuda.Cli;

/// <summary>Reproducible generated inputs for the demo and for a missing G.</summary>
internal static class SyntheticData
{
    /// <summary>
    /// Activations shaped like the hidden states that feed Q/K/V projections: row i is
    /// <c>s_i (d_c(i) + noise · z_i / √n)</c>, where the d are <paramref name="directions"/> random unit
    /// vectors, c(i) is uniform, <c>s_i = ±exp(0.5 w)</c> with w standard normal and a random sign, and
    /// z_i is a standard normal vector (so the noise's norm is about <paramref name="noise"/>).
    /// </summary>
    public static HostMatrix<float> StructuredActivations(int rows, int columns, int directions, double noise, Random random)
    {
        var basis = new double[directions][];
        for (int d = 0; d < directions; d++)
            basis[d] = UnitVector(columns, random);

        double noisePerElement = noise / Math.Sqrt(columns);
        var data = new float[(long)rows * columns];
        for (int i = 0; i < rows; i++)
        {
            double[] direction = basis[random.Next(directions)];
            double scale = Math.Exp(0.5 * NextGaussian(random)) * (random.Next(2) == 0 ? 1 : -1);
            Span<float> row = data.AsSpan((int)((long)i * columns), columns);
            for (int j = 0; j < columns; j++)
                row[j] = (float)(scale * (direction[j] + noisePerElement * NextGaussian(random)));
        }
        return new HostMatrix<float>(rows, columns, data);
    }

    /// <summary>A matrix of independent standard normal elements.</summary>
    public static HostMatrix<float> Gaussian(int rows, int columns, Random random)
    {
        var data = new float[(long)rows * columns];
        for (long i = 0; i < data.LongLength; i++)
            data[i] = (float)NextGaussian(random);
        return new HostMatrix<float>(rows, columns, data);
    }

    private static double[] UnitVector(int length, Random random)
    {
        var vector = new double[length];
        double squaredNorm = 0;
        for (int j = 0; j < length; j++)
        {
            vector[j] = NextGaussian(random);
            squaredNorm += vector[j] * vector[j];
        }
        double inverseNorm = 1 / Math.Sqrt(squaredNorm);
        for (int j = 0; j < length; j++)
            vector[j] *= inverseNorm;
        return vector;
    }

    // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
    private static double NextGaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
