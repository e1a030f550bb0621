namespace PammCuda.Tests.Cli;

/// <summary>The .npy files written by numpy (tests/PammCuda.Tests/Fixtures/make_fixtures.py) and what they hold.</summary>
internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    /// <summary>X = c vᵀ (6 × 4), row-major: every row a multiple of v.</summary>
    public static float[] X()
    {
        float[] v = [1f, -2f, 0.5f, 3f];
        float[] c = [1f, -2f, 3f, 0.5f, -1.5f, 2f];
        return [.. c.SelectMany(ci => v.Select(vj => ci * vj))];
    }

    /// <summary>G = arange(18) / 2 − 4 as 6 × 3.</summary>
    public static float[] G() => [.. Enumerable.Range(0, 18).Select(i => i / 2f - 4f)];
}
