using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace PammCuda.Cli;

/// <summary>
/// Makes the options of <c>pamm</c>'s commands. Each takes exactly one value, which System.CommandLine parses and
/// checks while it parses the command line, so that a bad value is a parse error whose message names the option and
/// the value (<c>--ratio must be in (0, 1], got '2'</c>); <see cref="UsageMessage"/> reports it.
/// </summary>
internal static class ValueOptions
{
    /// <summary>An integer in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static Option<int> Integer(string name, string helpName, string description, int defaultValue, int minimum, int maximum = int.MaxValue)
    {
        Option<int> option = Create<int>(name, helpName, description);
        option.CustomParser = result => ParseInteger(result, minimum, maximum) ?? default;
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>An integer in [<paramref name="minimum"/>, <paramref name="maximum"/>], or null when the option is not given.</summary>
    public static Option<int?> OptionalInteger(string name, string helpName, string description, int minimum, int maximum = int.MaxValue)
    {
        Option<int?> option = Create<int?>(name, helpName, description);
        option.CustomParser = result => ParseInteger(result, minimum, maximum);
        return option;
    }

    /// <summary>An unsigned 64-bit integer, digits only.</summary>
    public static Option<ulong> UnsignedInteger(string name, string helpName, string description, ulong defaultValue)
    {
        Option<ulong> option = Create<ulong>(name, helpName, description);
        option.CustomParser = result => ulong.TryParse(Text(result), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : Reject<ulong>(result, $"an integer in [0, {ulong.MaxValue}]");
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>A real number (also <c>inf</c>, or a fraction like <c>1/512</c>) for which <paramref name="isValid"/> holds.</summary>
    public static Option<Written<double>> Number(
        string name, string helpName, string description, string defaultText, Func<double, bool> isValid, string requirement)
    {
        Option<Written<double>> option = Create<Written<double>>(name, helpName, description);
        option.CustomParser = result => TryParseNumber(Text(result), out double value) && isValid(value)
            ? new Written<double>(value, Text(result))
            : Reject<Written<double>>(result, requirement);
        Written<double> defaultValue = TryParseNumber(defaultText, out double parsed) && isValid(parsed)
            ? new Written<double>(parsed, defaultText)
            : throw new ArgumentException($"The default of {name}, '{defaultText}', is not {requirement}.", nameof(defaultText));
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>One of the names in <paramref name="choices"/>; shells that complete through System.CommandLine offer them.</summary>
    public static Option<Written<T>> Choice<T>(string name, string helpName, string description, IReadOnlyDictionary<string, T> choices, string defaultText)
    {
        Option<Written<T>> option = Create<Written<T>>(name, helpName, description);
        option.CustomParser = result => choices.TryGetValue(Text(result), out T? value)
            ? new Written<T>(value, Text(result))
            : Reject<Written<T>>(result, $"one of {string.Join(", ", choices.Keys)}");
        Written<T> defaultValue = new(choices[defaultText], defaultText);
        option.DefaultValueFactory = _ => defaultValue;
        option.CompletionSources.Add(choices.Keys.ToArray());
        return option;
    }

    /// <summary>A file name; an empty one is a usage error here rather than an unreadable file later.</summary>
    public static Option<string> File(string name, string helpName, string description, bool required)
    {
        Option<string> option = Create<string>(name, helpName, description);
        option.Required = required;
        option.CustomParser = result =>
        {
            if (!string.IsNullOrWhiteSpace(Text(result))) return Text(result);
            result.AddError($"option {name} needs a file name; it is empty");
            return null;
        };
        return option;
    }

    /// <summary>Whether <paramref name="option"/> is on the command line (a default does not count).</summary>
    public static bool IsGiven(this ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    public static string NeedsValue(Option option) => $"option {option.Name} needs a value ({option.Name} {option.HelpName})";

    public static string GivenMoreThanOnce(Option option) => $"option {option.Name} is given more than once";

    public static string IsRequired(Option option) => $"option {option.Name} is required ({option.Name} {option.HelpName})";

    /// <summary>
    /// Whether an option that takes a value was given without one. System.CommandLine hands such an option the next
    /// token even when that is another option (<c>--k --rows 5</c> makes <c>--rows</c> the value of <c>--k</c>); no value
    /// of <c>pamm</c>'s starts with <c>--</c>, so one that does is another option and the value was left out.
    /// </summary>
    public static bool LacksValue(OptionResult result) =>
        result is { Implicit: false, Option.Arity.MinimumNumberOfValues: > 0 }
        && (result.Tokens.Count == 0 || result.Tokens[0].Value.StartsWith("--", StringComparison.Ordinal));

    private static Option<T> Create<T>(string name, string helpName, string description)
    {
        var option = new Option<T>(name) { HelpName = helpName, Description = description };
        // Validators run before the value is parsed; System.CommandLine itself would accept both of these.
        option.Validators.Add(result =>
        {
            // --k 2 --k would quietly keep 2 (--k 2 --k 3 fails System.CommandLine's arity check instead).
            if (result.IdentifierTokenCount > 1)
                result.AddError(GivenMoreThanOnce(option));
            else if (LacksValue(result))
                result.AddError(NeedsValue(option));
        });
        return option;
    }

    // The arity check has passed when a parser runs: there is exactly one token.
    private static string Text(ArgumentResult result) => result.Tokens[0].Value;

    private static T? Reject<T>(ArgumentResult result, string requirement)
    {
        string name = ((OptionResult)result.Parent!).Option.Name;
        result.AddError($"{name} must be {requirement}, got '{Text(result)}'");
        return default;
    }

    private static int? ParseInteger(ArgumentResult result, int minimum, int maximum) =>
        int.TryParse(Text(result), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= minimum && value <= maximum
            ? value
            : Reject<int?>(result, $"an integer in [{minimum}, {maximum}]");

    private static bool TryParseNumber(string text, out double value)
    {
        if (text.Equals("inf", StringComparison.OrdinalIgnoreCase) || text.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = double.PositiveInfinity;
            return true;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        bool parsed = double.TryParse(text.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out double numerator)
            & double.TryParse(text.AsSpan(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double denominator);
        value = numerator / denominator;
        return parsed;
    }
}
