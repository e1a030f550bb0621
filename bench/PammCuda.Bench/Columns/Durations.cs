using System.Globalization;

namespace PammCuda.Bench.Columns;

/// <summary>Durations for result cells, in the unit that keeps three or four significant digits.</summary>
public static class Durations
{
    /// <summary>Formats <paramref name="nanoseconds"/> as ns, µs, ms or s.</summary>
    public static string Format(double nanoseconds)
    {
        var (value, unit) = nanoseconds switch
        {
            < 1e3 => (nanoseconds, "ns"),
            < 1e6 => (nanoseconds / 1e3, "µs"),
            < 1e9 => (nanoseconds / 1e6, "ms"),
            _ => (nanoseconds / 1e9, "s"),
        };
        return value.ToString(value < 100 ? "F2" : "F1", CultureInfo.InvariantCulture) + " " + unit;
    }
}
