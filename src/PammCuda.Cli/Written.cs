namespace PammCuda.Cli;

/// <summary>
/// An option's value together with the text it is written as on the command line. System.CommandLine's help
/// prints a default with <see cref="object.ToString"/>; through this it prints the default as a user types it
/// (<c>1/512</c>, <c>inf</c>, <c>in-by-grad</c>) instead of <c>0.001953125</c>, <c>∞</c> or <c>InputByGradient</c>,
/// and the same in every culture (a double's text has the culture's decimal separator).
/// </summary>
internal readonly record struct Written<T>(T Value, string Text)
{
    public override string ToString() => Text;
}
