using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Memory;

/// <summary>The <c>memory-table</c> suite: prints the table and writes <c>memory-table.md</c>.</summary>
public static class MemoryTableRun
{
    /// <summary>The file name in the results directory.</summary>
    public const string FileName = "memory-table.md";

    /// <summary>Prints the table and writes it to <paramref name="resultsDirectory"/>; returns the exit code.</summary>
    public static int Run(string resultsDirectory)
    {
        string table = MemoryTable.ToMarkdown();
        Console.Write(table);
        string path = ResultsFile.WriteText(resultsDirectory, FileName, table);
        Console.WriteLine($"memory table written to {path}");
        return 0;
    }
}
