"""Entries about one value of a keyword (``loss='log'`` -> ``loss='log_loss'``): ``old_value`` / ``new_value``.

Only a call passing that literal is flagged; the fix rewrites ``keyword=value`` (and the keyword, when the
entry renames it too); an entry without ``new_value`` is display only.
"""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine import DetectOptions, detect, load_knowledge_base
from recode_lsp.engine.knowledge import KnowledgeBaseError, parse_entry
from recode_lsp.engine.versions import Version
from tests.cli_process import run_migrate
from tests.conftest import make_kb

KB = make_kb(
    [
        {
            "id": "SKL001",
            "library": "scikit-learn",
            "old": "sklearn.linear_model.SGDClassifier",
            "kind": "signature_change",
            "old_keyword": "loss",
            "old_value": "'log'",
            "new_value": "'log_loss'",
            "deprecated_in": "1.1",
            "removed_in": "1.3",
            "fix": "safe",
        },
        {
            "id": "SKL002",
            "library": "scikit-learn",
            "old": "sklearn.linear_model.LogisticRegression",
            "kind": "signature_change",
            "old_keyword": "penalty",
            "old_value": "'none'",
            "deprecated_in": "1.2",
            "removed_in": "1.4",
        },
    ]
)


def test_only_the_old_literal_is_flagged_with_the_value_in_the_message() -> None:
    source = textwrap.dedent(
        """\
        from sklearn.linear_model import LogisticRegression, SGDClassifier
        a = SGDClassifier(loss='log', alpha=1e-4)
        b = SGDClassifier(loss="log_loss")
        c = SGDClassifier(loss=name)
        d = LogisticRegression(penalty="none")
        e = LogisticRegression(penalty=None)
        """
    )
    findings = detect(source, KB, DetectOptions())
    assert [(f.range.start.line, f.code) for f in findings] == [(1, "SKL001"), (4, "SKL002")]
    assert findings[0].message == (
        "Use `loss='log_loss'`: `sklearn.linear_model.SGDClassifier(loss='log')` was removed in scikit-learn 1.3"
        " (deprecated since 1.1)"
    )


def test_a_literal_of_another_type_is_not_the_value() -> None:
    kb = make_kb(
        [
            {
                "id": "NPX001",
                "library": "numpy",
                "old": "numpy.unique",
                "kind": "signature_change",
                "old_keyword": "equal_nan",
                "old_value": "True",
                "removed_in": "9.0",
            }
        ]
    )
    source = "import numpy as np\nnp.unique(a, equal_nan=1)\nnp.unique(a, equal_nan=True)\n"
    assert [f.range.start.line for f in detect(source, kb, DetectOptions())] == [2]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"old_value": "'log'"}, "old_value needs old_keyword"),
        ({"old_keyword": "loss", "new_value": "'x'"}, "new_value needs old_value"),
        ({"old_keyword": "loss", "old_value": "log"}, "is not a Python literal"),
        ({"old_keyword": "loss", "old_value": "'log'", "fix": "safe"}, "needs a mechanical path"),
    ],
)
def test_malformed_value_entries_are_rejected(record: dict[str, object], message: str) -> None:
    base = {"id": "SKL009", "library": "scikit-learn", "old": "sklearn.X", "kind": "signature_change"}
    with pytest.raises(KnowledgeBaseError, match=message):
        parse_entry({**base, "removed_in": "1.3", "source": "test", **record}, "test")


def test_shipped_value_entries_fix_scikit_learn_estimators(tmp_path) -> None:
    source = textwrap.dedent(
        """\
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        from sklearn.linear_model import LogisticRegression, SGDClassifier

        clf = SGDClassifier(loss="log", max_iter=5)
        forest = RandomForestClassifier(n_estimators=10, max_features="auto")
        reg = RandomForestRegressor(criterion="mse", max_features="auto")
        logit = LogisticRegression(penalty="none")
        """
    )
    path = tmp_path / "model.py"
    path.write_text(source)
    result = run_migrate("--apply", "--no-cache", "--target", "scikit-learn==1.4", str(path), cwd=tmp_path)
    assert "Fixed 5 findings in 1 file." in result.stdout, result.stdout + result.stderr
    assert path.read_text() == source.replace('loss="log"', "loss='log_loss'").replace(
        'n_estimators=10, max_features="auto"', "n_estimators=10, max_features='sqrt'"
    ).replace('criterion="mse", max_features="auto"', "criterion='squared_error', max_features=1.0").replace(
        'penalty="none"', "penalty=None"
    )
    kb = load_knowledge_base()
    assert not detect(path.read_text(), kb, DetectOptions(targets={"scikit-learn": Version("1.4")}))
