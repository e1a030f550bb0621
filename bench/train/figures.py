"""The one way the training reports draw a figure: matplotlib without a display, saved as a PNG."""

import contextlib


@contextlib.contextmanager
def figure_at(path, size):
    """(figure, axis) of a new matplotlib figure (no display needed), saved to `path` with a legend and grid when the
    block ends. ImportError where matplotlib is not installed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=size)
    try:
        yield figure, axis
        axis.legend()
        axis.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)
