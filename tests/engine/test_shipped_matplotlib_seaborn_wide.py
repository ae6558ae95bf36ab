"""The shipped Matplotlib and seaborn entries cover releases from Matplotlib 3.3 and seaborn 0.9 on.

Plotting scripts written against those old releases go through the real ``recode-migrate`` command
line: every old use is flagged with the right id and severity for the newest releases (Matplotlib
3.11, seaborn 0.13), an older target reports only what it had deprecated by then, and the mechanical
changes (keyword renames, renames, moves) are applied exactly.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

# A figure script as it was written for Matplotlib 3.3 (every marked line is flagged).
MPL_CODE = textwrap.dedent(
    """\
    \"\"\"Daily temperature figures, written for matplotlib 3.3.\"\"\"
    import numpy as np
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors
    from matplotlib.cbook import MatplotlibDeprecationWarning
    from mpl_toolkits.mplot3d import Axes3D

    days = np.arange(30)
    temps = np.sin(days / 5.0) * 10 + 15
    cmap = plt.cm.get_cmap("coolwarm")
    names = sorted(cm.cmap_d)
    norm = colors.DivergingNorm(vcenter=15)

    fig, ax = plt.subplots()
    ax.plot(days, temps)
    ax.grid(b=True, which="major")
    ax.set_yscale("log", basey=2, nonposy="clip")
    ax.annotate(s="peak", xy=(7, 25))
    ax.stem(days, temps, use_line_collection=True)
    leg = ax.legend(["temperature"])
    handles = leg.legendHandles
    cs = ax.contourf(np.outer(temps, temps))
    cbar = fig.colorbar(cs)
    cbar.draw_all()
    for collection in cs.collections:
        collection.set_edgecolor("face")
    fig.set_tight_layout(True)
    fig.savefig("temps.jpg", quality=95)

    fig3d = plt.figure()
    ax3d = fig3d.gca(projection="3d")
    box = Axes3D(fig3d)
    box.w_xaxis.set_pane_color((1.0, 1.0, 1.0, 0.0))
    plt.grid(b=False)
    plt.xscale("log", basex=10)
    plt.plot_date(days, temps)
    plt.boxplot([temps], labels=["t"], vert=False)
    levels = plt.contour(np.outer(temps, temps)).tcolors
    ax.get_shared_x_axes().join(ax, ax3d)
    ax.set_yscale("symlog", linthreshy=1.0)
    plt.show()
    """
)

# (line, id) -> severity with target matplotlib==3.11.
MPL_EXPECTED = {
    (5, "MPL037"): "error",  # cbook.MatplotlibDeprecationWarning: moved to matplotlib
    (10, "MPL021"): "error",  # plt.cm.get_cmap: removed in 3.11 (after a 3.9.0 removal and a 3.9.1 return)
    (11, "MPL019"): "error",  # cm.cmap_d
    (12, "MPL049"): "error",  # DivergingNorm -> TwoSlopeNorm
    (16, "MPL013"): "error",  # Axes.grid(b=)
    (17, "MPL061"): "error",  # set_yscale(basey=)
    (17, "MPL063"): "error",  # set_yscale(nonposy=)
    (18, "MPL015"): "error",  # Axes.annotate(s=)
    (19, "MPL014"): "error",  # Axes.stem(use_line_collection=)
    (21, "MPL023"): "error",  # Legend.legendHandles
    (24, "MPL050"): "error",  # Colorbar.draw_all
    (25, "MPL054"): "error",  # ContourSet.collections (ax.contourf)
    (27, "MPL030"): "warning",  # Figure.set_tight_layout: pending deprecation only
    (28, "MPL059"): "error",  # Figure.savefig(quality=)
    (31, "MPL017"): "error",  # Figure.gca(projection=)
    (33, "MPL076"): "error",  # Axes3D.w_xaxis
    (34, "MPL012"): "error",  # pyplot.grid(b=)
    (35, "MPL064"): "error",  # pyplot.xscale(basex=)
    (36, "MPL024"): "error",  # pyplot.plot_date
    (37, "MPL007"): "error",  # boxplot(labels=): removed in 3.11
    (37, "MPL026"): "warning",  # boxplot(vert=): deprecated in 3.11
    (38, "MPL055"): "error",  # ContourSet.tcolors (plt.contour)
    (39, "MPL082"): "error",  # get_shared_x_axes().join: the Grouper became a read-only view
    (40, "MPL086"): "error",  # set_yscale("symlog", linthreshy=)
}

MPL_MIGRATED = MPL_CODE
for _old, _new in (
    (
        "from matplotlib import cm, colors\nfrom matplotlib.cbook import MatplotlibDeprecationWarning\n",
        "from matplotlib import cm, colors, MatplotlibDeprecationWarning\n",
    ),
    ("colors.DivergingNorm(", "colors.TwoSlopeNorm("),
    ("ax.grid(b=True", "ax.grid(visible=True"),
    ('"log", basey=2, nonposy="clip"', '"log", base=2, nonpositive="clip"'),
    ('ax.annotate(s="peak"', 'ax.annotate(text="peak"'),
    ("leg.legendHandles", "leg.legend_handles"),
    ("box.w_xaxis.", "box.xaxis."),
    ("plt.grid(b=False)", "plt.grid(visible=False)"),
    ('plt.xscale("log", basex=10)', 'plt.xscale("log", base=10)'),
    ('labels=["t"]', 'tick_labels=["t"]'),
    ("linthreshy=1.0", "linthresh=1.0"),
):
    assert MPL_MIGRATED.count(_old) == 1, _old
    MPL_MIGRATED = MPL_MIGRATED.replace(_old, _new)

# A seaborn notebook exported to a script, written for seaborn 0.9 / 0.10.
SNS_CODE = textwrap.dedent(
    """\
    import numpy as np
    import pandas as pd
    import seaborn as sns
    import seaborn.utils as su

    df = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0), "g": ["a", "b"] * 5})
    sns.set(style="whitegrid")
    g = sns.FacetGrid(df, col="g", size=3)
    g.fig.suptitle("by group")
    pg = sns.pairplot(df, size=2)
    jg = sns.jointplot(x="x", y="y", data=df, size=5, stat_func=None)
    jg.annotate(np.corrcoef)
    cg = sns.catplot(x="g", y="y", data=df, size=4, ci="sd")
    ax = sns.lvplot(x="g", y="y", data=df)
    ax = sns.stripplot(x="g", y="y", hue="g", data=df, split=True)
    ax = sns.kdeplot(df.x, data2=df.y, kernel="epa")
    ax = sns.rugplot(a=df.x, axis="y")
    ax = sns.tsplot(data=df.y)
    q = su.percentiles(df.x, 50)
    ax = sns.boxenplot(x="g", y="y", data=df, scale="linear")
    ax = sns.pointplot(x="g", y="y", data=df, join=False, errwidth=1)
    ax = sns.violinplot(x="g", y="y", data=df, scale_hue=False)
    lm = sns.lmplot(x="x", y="y", data=df, sharex=False)
    ax = sns.distplot(df.x)
    ax.grid(b=True)
    """
)

# (line, id) -> severity with target seaborn==0.13 (and matplotlib==3.11 for the Axes they return).
SNS_EXPECTED = {
    (7, "SNS037"): "warning",  # set -> set_theme
    (8, "SNS013"): "error",  # FacetGrid(size=)
    (9, "SNS038"): "warning",  # FacetGrid.fig -> figure
    (10, "SNS016"): "warning",  # pairplot(size=): still accepted with a warning in 0.13
    (11, "SNS017"): "error",  # jointplot(size=)
    (11, "SNS022"): "error",  # jointplot(stat_func=)
    (12, "SNS021"): "error",  # JointGrid.annotate
    (13, "SNS018"): "error",  # catplot(size=)
    (13, "SNS045"): "warning",  # catplot(ci=)
    (14, "SNS019"): "error",  # lvplot -> boxenplot
    (15, "SNS024"): "error",  # stripplot(split=)
    (16, "SNS026"): "error",  # kdeplot(data2=)
    (16, "SNS028"): "warning",  # kdeplot(kernel=)
    (17, "SNS029"): "warning",  # rugplot(a=)
    (17, "SNS030"): "warning",  # rugplot(axis=)
    (18, "SNS020"): "error",  # tsplot
    (19, "SNS033"): "error",  # utils.percentiles
    (20, "SNS047"): "warning",  # boxenplot(scale=)
    (21, "SNS051"): "warning",  # pointplot(join=)
    (21, "SNS050"): "warning",  # pointplot(errwidth=)
    (22, "SNS053"): "warning",  # violinplot(scale_hue=)
    (23, "SNS042"): "warning",  # lmplot(sharex=)
    (24, "SNS004"): "warning",  # distplot (shipped before)
    (25, "MPL013"): "error",  # the Axes distplot returns: grid(b=)
}

SNS_MIGRATED = SNS_CODE
for _old, _new in (
    ('sns.set(style="whitegrid")', 'sns.set_theme(style="whitegrid")'),
    ('col="g", size=3', 'col="g", height=3'),
    ("g.fig.suptitle", "g.figure.suptitle"),
    ("sns.pairplot(df, size=2)", "sns.pairplot(df, height=2)"),
    ("data=df, size=5,", "data=df, height=5,"),
    ("data=df, size=4,", "data=df, height=4,"),
    ("sns.lvplot(", "sns.boxenplot("),
    ("split=True", "dodge=True"),
    ('scale="linear"', 'width_method="linear"'),
    ("ax.grid(b=True)", "ax.grid(visible=True)"),
):
    assert SNS_MIGRATED.count(_old) == 1, _old
    SNS_MIGRATED = SNS_MIGRATED.replace(_old, _new)

NEWEST = ("--target", "matplotlib==3.11", "--target", "seaborn==0.13")


def _findings(result: Any) -> dict[tuple[int, str], dict[str, Any]]:
    payload = json.loads(result.stdout)
    findings = payload["findings"] if isinstance(payload, dict) else payload
    return {(f["location"]["line"], f["code"]): f for f in findings}


@pytest.fixture
def scripts(tmp_path: Path) -> tuple[Path, Path]:
    plots = tmp_path / "plots.py"
    plots.write_text(MPL_CODE, encoding="utf-8")
    figures = tmp_path / "figures.py"
    figures.write_text(SNS_CODE, encoding="utf-8")
    return plots, figures


def test_entries_record_the_versions_verified_in_both_releases() -> None:
    changes = {c.id: c for c in load_knowledge_base().changes}

    def versions(cid: str) -> tuple[str, str | None, str | None, str | None]:
        change = changes[cid]
        removed = str(change.removed_in) if change.removed_in is not None else None
        return change.old, change.old_keyword, str(change.deprecated_in), removed

    assert versions("MPL009") == ("matplotlib.cm.get_cmap", None, "3.7", "3.11")  # back in 3.9.1, gone in 3.11
    assert versions("MPL001") == ("matplotlib.cm.register_cmap", None, "3.7", "3.9")  # pending in 3.6
    assert versions("MPL007") == ("matplotlib.pyplot.boxplot", "labels", "3.9", "3.11")
    assert versions("MPL010") == ("matplotlib.axes.Axes.boxplot", "labels", "3.9", "3.11")
    assert versions("MPL012") == ("matplotlib.pyplot.grid", "b", "3.5", "3.7")
    assert versions("MPL015") == ("matplotlib.axes.Axes.annotate", "s", "3.3", "3.5")
    assert versions("MPL054") == ("matplotlib.contour.ContourSet.collections", None, "3.8", "3.10")
    assert versions("SNS019") == ("seaborn.lvplot", None, "0.9", "0.11")
    assert versions("SNS020") == ("seaborn.tsplot", None, "0.8", "0.10")
    assert versions("SNS024") == ("seaborn.stripplot", "split", "0.8", "0.12")
    assert versions("SNS016") == ("seaborn.pairplot", "size", "0.9", None)  # still handled in 0.13
    # One entry per (old, keyword) across both files.
    keys = [(c.old, c.old_keyword) for c in changes.values() if c.library in ("matplotlib", "seaborn")]
    assert len(keys) == len(set(keys))


def test_old_scripts_are_flagged_for_the_newest_releases(scripts: tuple[Path, Path]) -> None:
    plots, figures = scripts
    for path, expected in ((plots, MPL_EXPECTED), (figures, SNS_EXPECTED)):
        result = run_migrate("--check", "--no-cache", "--format", "json", *NEWEST, str(path))
        assert result.returncode == 1, result.stderr
        found = _findings(result)
        missing = sorted(set(expected) - set(found))
        assert not missing, (path.name, missing)
        for key, severity in expected.items():
            assert found[key]["severity"] == severity, (path.name, key, found[key])
        unexpected = sorted(set(found) - set(expected))
        assert not unexpected, (path.name, unexpected)


def test_messages_give_the_versions_and_the_advice(scripts: tuple[Path, Path]) -> None:
    plots, figures = scripts
    found = _findings(run_migrate("--check", "--no-cache", "--format", "json", *NEWEST, str(plots), str(figures)))
    messages = {key: finding["message"] for key, finding in found.items()}
    assert messages[(16, "MPL013")] == (
        "Use `visible=`: `matplotlib.axes.Axes.grid(b=...)` was removed in Matplotlib 3.7 (deprecated since 3.5)"
    )
    assert messages[(31, "MPL017")].startswith("Use `fig.add_subplot(projection=...)`: ")
    assert "was removed in Matplotlib 3.11" in messages[(10, "MPL021")]
    assert messages[(14, "SNS019")] == (
        "Use `seaborn.boxenplot`: `seaborn.lvplot` was removed in seaborn 0.11 (deprecated since 0.9)"
    )
    assert messages[(18, "SNS020")].startswith("Use `seaborn.lineplot(")


def test_older_targets_report_only_what_they_had_deprecated(scripts: tuple[Path, Path]) -> None:
    plots, figures = scripts
    result = run_migrate(
        "--check",
        "--no-cache",
        "--format",
        "json",
        "--target",
        "matplotlib==3.5",
        "--target",
        "seaborn==0.11",
        str(plots),
        str(figures),
    )
    found = _findings(result)
    severity = {key: finding["severity"] for key, finding in found.items()}
    # Matplotlib 3.5: grid(b=) and cmap_d are deprecated, annotate(s=) and basey= are gone.
    assert severity[(16, "MPL013")] == "warning"
    assert severity[(11, "MPL019")] == "warning"
    assert severity[(18, "MPL015")] == "error"
    assert severity[(17, "MPL061")] == "error"
    # Deprecated only after 3.5: not reported against 3.5.
    for key in ((21, "MPL023"), (10, "MPL021"), (27, "MPL030"), (36, "MPL024"), (25, "MPL054"), (37, "MPL007")):
        assert key not in found, key
    # seaborn 0.11: size= still works (deprecated), lvplot is gone, ci= and Grid.fig are not deprecated yet.
    assert severity[(8, "SNS013")] == "warning"
    assert severity[(14, "SNS019")] == "error"
    assert severity[(7, "SNS037")] == "warning"
    for key in ((13, "SNS045"), (9, "SNS038"), (20, "SNS047"), (21, "SNS051")):
        assert key not in found, key


def test_mechanical_changes_are_applied_exactly(scripts: tuple[Path, Path]) -> None:
    plots, figures = scripts
    result = run_migrate("--apply", "--no-cache", *NEWEST, str(plots), str(figures))
    assert result.returncode in (0, 1), result.stderr
    assert plots.read_text(encoding="utf-8") == MPL_MIGRATED
    assert figures.read_text(encoding="utf-8") == SNS_MIGRATED
    # The applied scripts no longer have any mechanically fixable finding.
    again = _findings(run_migrate("--check", "--no-cache", "--format", "json", *NEWEST, str(plots), str(figures)))
    assert {code for _, code in again} & {"MPL013", "MPL012", "MPL023", "SNS013", "SNS019", "SNS037"} == set()
