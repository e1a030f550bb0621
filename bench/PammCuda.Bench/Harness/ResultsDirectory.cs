namespace PammCuda.Bench.Harness;

/// <summary>Where results go by default: <c>bench/results</c> of the repository the program is run from.</summary>
public static class ResultsDirectory
{
    /// <summary>
    /// <c>bench/results</c> under the nearest directory, from the working directory up, that holds <c>PammCuda.sln</c>;
    /// <c>bench/results</c> under the working directory when there is none (a bundle on a GPU host).
    /// </summary>
    public static string Default()
    {
        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PammCuda.sln")))
                return Path.Combine(directory.FullName, "bench", "results");
        }
        return Path.Combine(Environment.CurrentDirectory, "bench", "results");
    }
}
