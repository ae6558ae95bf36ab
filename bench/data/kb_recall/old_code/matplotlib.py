# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Plotting helpers written against Matplotlib 3.4 (benchmark input: kb_recall, target matplotlib==3.6.3).

Every line that uses an API changed by 3.6.3 ends with ``# old-api: <change>``.
"""

import warnings

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import cbook, cm, dates, mlab, text
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.tight_layout import get_renderer  # old-api: matplotlib.tight_layout
from matplotlib.transforms import Bbox


def palette_names():
    """The names of the registered colormaps."""
    return sorted(cm.cmap_d)  # old-api: matplotlib.cm.cmap_d


def quiet_deprecations():
    warnings.filterwarnings("ignore", category=matplotlib.mplDeprecation)  # old-api: matplotlib.mplDeprecation
    warnings.filterwarnings("ignore", category=cbook.mplDeprecation)  # old-api: matplotlib.cbook.mplDeprecation


def to_axes_coords(ax: Axes, box: Bbox) -> Bbox:
    """A display-space box in axes coordinates."""
    return box.inverse_transformed(ax.transAxes)  # old-api: matplotlib.transforms.BboxBase.inverse_transformed


def line_plot(ax: Axes, x, y):
    """A line plot with a grid."""
    ax.plot(x, y)
    ax.grid(b=True, which="major")  # old-api: matplotlib.axes.Axes.grid(b)
    return ax


def quick_grid():
    plt.grid(b=False)  # old-api: matplotlib.pyplot.grid(b)


def stems(ax: Axes, x, y):
    return ax.stem(x, y, use_line_collection=True)  # old-api: matplotlib.axes.Axes.stem(use_line_collection)


def renderer_of(ax: Axes):
    return ax.get_renderer_cache()  # old-api: matplotlib.axes.Axes.get_renderer_cache


def make_figure():
    fig = Figure(figsize=(6, 4))
    fig.subplots_adjust(left=0.1)
    return fig, get_renderer(fig)


def windows(signal, n):
    return mlab.stride_windows(signal, n, noverlap=n // 2)  # old-api: matplotlib.mlab.stride_windows


def label_angle(value):
    return text.get_rotation(value)  # old-api: matplotlib.text.get_rotation


def to_epoch(days):
    return dates.num2epoch(days)  # old-api: matplotlib.dates.num2epoch


def date_axis(span):
    return dates.date_ticker_factory(span, numticks=5)  # old-api: matplotlib.dates.date_ticker_factory


_CACHE = cbook.maxdict(64)  # old-api: matplotlib.cbook.maxdict


def can_use_tex():
    return matplotlib.checkdep_usetex(True)  # old-api: matplotlib.checkdep_usetex
