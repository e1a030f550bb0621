using System.Globalization;
using System.Text;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;

namespace PammCuda.Bench.Harness;

/// <summary>Writes <c>&lt;date&gt;-&lt;hhmm&gt;-&lt;suite&gt;-&lt;device&gt;.md</c> (UTC): the program's header, then BenchmarkDotNet's GitHub markdown report.</summary>
public static class ResultsFile
{
    /// <summary>Writes the file and returns its path.</summary>
    public static string Write(string directory, string suite, string device, IEnumerable<string> header, Summary summary)
    {
        ArgumentNullException.ThrowIfNull(header);
        var report = new AccumulationLogger();
        MarkdownExporter.GitHub.ExportToLog(summary, report);
        var text = new StringBuilder();
        foreach (string line in header)
            text.AppendLine(line);
        text.AppendLine();
        text.Append(report.GetLog());
        // The minute in the name: runs of one day (a full suite, then its stages alone) each keep their own file.
        return WriteText(directory, $"{DateTime.UtcNow:yyyy-MM-dd-HHmm}-{suite}-{Slug(device)}.md", text.ToString());
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="fileName"/> in <paramref name="directory"/> and returns the path.</summary>
    public static string WriteText(string directory, string fileName, string text)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, fileName);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The lines every results file starts with: date, command line, runtime, host and the library's version.</summary>
    public static IEnumerable<string> CommonHeader(string title, BenchCommandLine commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        string version = typeof(PammOptions).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
            .FirstOrDefault()?.InformationalVersion ?? "unknown";
        yield return $"# {title}";
        yield return "";
        yield return string.Create(CultureInfo.InvariantCulture, $"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        yield return $"- command: `PammCuda.Bench {string.Join(' ', commandLine.RawArguments)}`";
        yield return $"- PammCuda: {version}";
        yield return $"- runtime: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs";
    }

    /// <summary>A file-name-safe, lower-case form of a device name.</summary>
    public static string Slug(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var slug = new StringBuilder();
        foreach (char c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
                slug.Append(c);
            else if (slug.Length > 0 && slug[^1] != '-')
                slug.Append('-');
        }
        return slug.ToString().Trim('-') is { Length: > 0 } s ? s[..Math.Min(s.Length, 48)].TrimEnd('-') : "device";
    }
}
