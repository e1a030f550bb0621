using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>A custom result column computed from a case's <see cref="MeasuredCase"/>; "-" where it does not apply.</summary>
public abstract class CaseColumn : IColumn
{
    private readonly int _priority;

    /// <summary>Creates a column shown after BenchmarkDotNet's statistics, in <paramref name="priority"/> order.</summary>
    protected CaseColumn(string name, string legend, int priority)
    {
        ColumnName = name;
        Legend = legend;
        _priority = priority;
    }

    /// <inheritdoc/>
    public string Id => $"{GetType().Name}.{ColumnName}";

    /// <inheritdoc/>
    public string ColumnName { get; }

    /// <inheritdoc/>
    public string Legend { get; }

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => _priority;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        MeasuredCase.From(benchmarkCase) is { } measured ? Value(summary, benchmarkCase, measured) ?? "-" : "-";

    /// <summary>The cell's text, or null where the column does not apply or nothing was measured.</summary>
    protected abstract string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured);
}
