"""A PNG comparing runs: pass@1 (bars) and pass@5 (dots, where there are 5 samples per task) per
system and library group, one series per (run, system). Needs matplotlib (``pip install matplotlib``);
without it the report says so and writes no plot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class PlotUnavailable(Exception):
    """matplotlib is not installed."""


def plot_runs(summaries: Mapping[str, Mapping[str, Any]], path: Path, *, title: str = "") -> Path:
    """Write the plot of ``summaries`` (run label -> :func:`~model_training.eval.run.summarize` output)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: files only
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable(f"no plot: matplotlib is not installed ({exc}); pip install matplotlib") from None
    series: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    groups: list[str] = []
    for run, summary in summaries.items():
        for cell in summary["cells"].values():
            group = f"{cell['group']}/{cell['split']}"
            if group not in groups:
                groups.append(group)
            label = cell["system"] if len(summaries) == 1 else f"{run}: {cell['system']}"
            series.setdefault(label, {})[group] = (cell["pass@1"], cell["pass@5"])
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) * max(1, len(series)) ** 0.5), 4.5))
    for index, (label, values) in enumerate(series.items()):
        offset = (index - (len(series) - 1) / 2) * width
        # Only the groups this series has: a missing bar is not a zero.
        present = [(g + offset, values[group]) for g, group in enumerate(groups) if group in values]
        bars = ax.bar(
            [x for x, _ in present], [100 * (v[0] or 0.0) for _, v in present], width, label=f"{label} pass@1"
        )
        p5 = [(x, 100 * v[1]) for x, v in present if v[1] is not None]
        if p5:
            ax.scatter(
                [x for x, _ in p5],
                [y for _, y in p5],
                color=bars.patches[0].get_facecolor(),
                marker="o",
                edgecolors="black",
                zorder=3,
                label=f"{label} pass@5",
            )
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    ax.set_ylabel("% of tasks (not broken)")
    ax.set_ylim(0, 105)
    ax.set_title(title or "pass@k per system and library")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
