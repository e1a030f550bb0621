namespace PammCuda.Cpu;

/// <summary>
/// The right operand B (columns × depth, row-major) of <see cref="CpuGemmNT"/>, widened to float32 and packed once into
/// panels of <see cref="PanelWidth"/> rows of B: panel q holds, for every p, B[q·w .. q·w + w − 1, p] side by side, so
/// that the micro-kernel reads one contiguous stream whatever B's stride, and loads each step's w values as whole
/// vectors. Rows past the end of B are zeros; their outputs are computed and discarded. Immutable after packing,
/// so every thread reads the same copy.
/// </summary>
internal sealed class GemmPanels
{
    private readonly float[] _data;

    private GemmPanels(int columns, int depth, GemmWidth width)
    {
        Columns = columns;
        Depth = depth;
        Width = width;
        PanelWidth = GemmWidths.Columns(width);
        Panels = (int)((columns + (long)PanelWidth - 1) / PanelWidth);
        _data = new float[checked(Panels * PanelWidth * depth)];
    }

    /// <summary>Rows of B (columns of S).</summary>
    public int Columns { get; }

    /// <summary>The reduction length.</summary>
    public int Depth { get; }

    /// <summary>The micro-kernel these panels are laid out for.</summary>
    public GemmWidth Width { get; }

    /// <summary>Rows of B per panel.</summary>
    public int PanelWidth { get; }

    /// <summary>Number of panels, the last one zero-padded.</summary>
    public int Panels { get; }

    /// <summary>Every panel, one after the other (panel q starts at q·Depth·PanelWidth); fixed by the product for one block at a time.</summary>
    public float[] Data => _data;

    /// <summary>Widens and packs B (<paramref name="columns"/> × <paramref name="depth"/>, row-major).</summary>
    public static GemmPanels Pack<T>(ReadOnlySpan<T> b, int columns, int depth, GemmWidth width) where T : unmanaged
    {
        var panels = new GemmPanels(columns, depth, width);
        int w = panels.PanelWidth;
        var row = new float[depth];
        for (int j = 0; j < columns; j++)
        {
            ReadOnlySpan<float> values = RowConverter.AsSingle(b.Slice(j * depth, depth), row);
            Span<float> target = panels._data.AsSpan((j / w) * depth * w);
            int lane = j % w;
            for (int p = 0; p < depth; p++) target[p * w + lane] = values[p];
        }
        return panels;
    }

    /// <summary>
    /// ‖B_j‖² of every row of B as the same fused multiply-add chain as every element of S (from +0, ascending p), so
    /// that a row of A equal to B_j has S_ij = ‖B_j‖² exactly, and one equal to 2ᵉ·B_j has S_ij = 2ᵉ·‖B_j‖².
    /// </summary>
    public void SquaredNorms(Span<float> result)
    {
        int w = PanelWidth;
        for (int j = 0; j < Columns; j++)
        {
            ReadOnlySpan<float> panel = _data.AsSpan((j / w) * Depth * w);
            int lane = j % w;
            float sum = 0f;
            for (int p = 0; p < Depth; p++)
            {
                float value = panel[p * w + lane];
                sum = MathF.FusedMultiplyAdd(value, value, sum);
            }
            result[j] = sum;
        }
    }
}
