"""The shipped knowledge base covers the paper's libraries: old-release code is flagged and the
mechanical changes are migrated, through the real ``recode-migrate`` command line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

TARGETS = ["scipy==1.14", "scikit-learn==1.5", "seaborn==0.13", "matplotlib==3.9", "jax==0.4.35"]

# Realistic code written against scipy 1.11, scikit-learn 1.1, seaborn 0.11, matplotlib 3.6, jax 0.4.13:
# (line, expected id prefix, expected old API) for every use that must be flagged.
OLD_CODE = textwrap.dedent(
    """\
    import numpy as np
    import jax
    import seaborn as sns
    import matplotlib.pyplot as plt
    from matplotlib import cm
    from scipy import integrate, signal, special
    from scipy.sparse.linalg import cg
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.ensemble import BaggingClassifier
    from sklearn.metrics import plot_confusion_matrix
    from sklearn.datasets import load_boston

    y = np.arange(10.0)
    area = integrate.trapz(y)
    cum = integrate.cumtrapz(y, initial=0)
    s = integrate.simps(y)
    b = special.btdtr(1.0, 2.0, 0.5)
    x, info = cg(np.eye(3), np.ones(3), tol=1e-8)
    taps = signal.firwin(11, 0.3, nyq=1.0)
    enc = OneHotEncoder(sparse=False)
    bag = BaggingClassifier(base_estimator=None)
    leaves = jax.tree_map(lambda v: v * 2, {"a": 1})
    n = jax.host_count()
    sns.distplot(y)
    sns.kdeplot(y, shade=True)
    sns.barplot(x=y, y=y, ci=None)
    sns.lmplot(x="a", y="b", data=None, size=4)
    cmap = cm.get_cmap("viridis")
    plt.boxplot([y], labels=["y"])
    """
)
EXPECTED = {
    10: "sklearn.metrics.plot_confusion_matrix",
    11: "sklearn.datasets.load_boston",
    14: "scipy.integrate.trapz",
    15: "scipy.integrate.cumtrapz",
    16: "scipy.integrate.simps",
    17: "scipy.special.btdtr",
    18: "scipy.sparse.linalg.cg",
    19: "scipy.signal.firwin",
    20: "sklearn.preprocessing.OneHotEncoder",
    21: "sklearn.ensemble.BaggingClassifier",
    22: "jax.tree_map",
    23: "jax.host_count",
    24: "seaborn.distplot",
    25: "seaborn.kdeplot",
    26: "seaborn.barplot",
    27: "seaborn.lmplot",
    28: "matplotlib.cm.get_cmap",
    29: "matplotlib.pyplot.boxplot",
}
MIGRATED = {
    "integrate.trapz(y)": "integrate.trapezoid(y)",
    "integrate.cumtrapz(y, initial=0)": "integrate.cumulative_trapezoid(y, initial=0)",
    "special.btdtr(1.0, 2.0, 0.5)": "special.betainc(1.0, 2.0, 0.5)",
    "tol=1e-8": "rtol=1e-8",
    "OneHotEncoder(sparse=False)": "OneHotEncoder(sparse_output=False)",
    "BaggingClassifier(base_estimator=None)": "BaggingClassifier(estimator=None)",
    "jax.host_count()": "jax.process_count()",
    "sns.kdeplot(y, shade=True)": "sns.kdeplot(y, fill=True)",
    "size=4)": "height=4)",
    'labels=["y"]': 'tick_labels=["y"]',
}


def _targets() -> list[str]:
    return [arg for target in TARGETS for arg in ("--target", target)]


@pytest.fixture
def old_project(tmp_path: Path) -> Path:
    (tmp_path / "analysis.py").write_text(OLD_CODE, encoding="utf-8")
    return tmp_path


def test_every_new_library_ships_reviewed_entries() -> None:
    kb = load_knowledge_base()
    for library in ("scipy", "scikit-learn", "seaborn", "matplotlib", "jax"):
        changes = [c for c in kb.changes if c.library == library]
        assert len(changes) >= 10, library
        assert all(c.source for c in changes), library


def test_old_release_code_is_flagged_with_the_right_entries(old_project: Path) -> None:
    result = run_migrate("--check", "--no-cache", "--format", "json", *_targets(), str(old_project / "analysis.py"))
    assert result.returncode == 1, result.stderr

    payload = json.loads(result.stdout)
    findings = payload["findings"] if isinstance(payload, dict) else payload
    flagged = {f["location"]["line"]: f for f in findings}
    missing = {line: old for line, old in EXPECTED.items() if line not in flagged}
    assert not missing, missing
    for line, old in EXPECTED.items():
        assert old in json.dumps(flagged[line]), (line, flagged[line])


def test_mechanical_changes_are_migrated(old_project: Path) -> None:
    result = run_migrate("--diff", "--no-cache", *_targets(), str(old_project / "analysis.py"))
    removed = [line[1:] for line in result.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in result.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")]
    for before, after in MIGRATED.items():
        assert any(before in line for line in removed), before
        assert any(after in line for line in added), after
    # Display-only entries are reported, never rewritten.
    assert not any("distplot" in line or "get_cmap" in line or "ci=None" in line for line in removed)
