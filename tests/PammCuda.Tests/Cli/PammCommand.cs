using System.Globalization;
using System.Text.RegularExpressions;
using PammCuda.Cli;

namespace PammCuda.Tests.Cli;

/// <summary>The outcome of one in-process run of the pamm command.</summary>
internal sealed partial record PammCommand(int ExitCode, string Output, string Error)
{
    public static PammCommand Run(params string[] args)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        int exitCode = Program.Run(args, output, error);
        return new PammCommand(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The report line with this label, without the label.</summary>
    public string Line(string label)
    {
        string? line = Output.Split('\n').FirstOrDefault(l => l.StartsWith(label + " ", StringComparison.Ordinal));
        Assert.That(line, Is.Not.Null, $"no '{label}' line in:\n{Output}\nstderr: {Error}");
        return line![label.Length..].Trim();
    }

    /// <summary>The relative Frobenius error the report prints.</summary>
    public double RelativeError()
    {
        Match match = ErrorValue().Match(Line("error"));
        Assert.That(match.Success, Is.True, Line("error"));
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The report without its time line, which is the only part that may differ between identical runs.</summary>
    public string WithoutTimes() => string.Join('\n', Output.Split('\n').Where(l => !l.StartsWith("time ", StringComparison.Ordinal)));

    [GeneratedRegex(@"= (\S+)$")]
    private static partial Regex ErrorValue();
}
