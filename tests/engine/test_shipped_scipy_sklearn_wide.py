"""The widened SciPy (1.5 → 1.17) and scikit-learn (0.24 → 1.9) entries flag analysis scripts written against
old releases, through the real ``recode-migrate`` command line, and migrate the mechanical changes exactly."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

# An analysis script written against SciPy 1.5-1.8.
OLD_SCIPY = textwrap.dedent(
    """\
    import numpy as np
    import scipy as sp
    from scipy import linalg, signal, stats
    from scipy.ndimage.filters import gaussian_filter
    from scipy.spatial.distance import matching
    from scipy.sparse.linalg import minres
    from scipy.interpolate import interp2d

    a = np.eye(3)
    x = linalg.solve(a, np.ones(3), sym_pos=True)
    p = linalg.pinv2(a)
    w = signal.hann(64)
    h = signal.hanning(64)
    m = stats.mode(np.array([1, 1, 2]))
    d = matching([1, 0], [1, 1])
    s, info = minres(a, np.ones(3), tol=1e-8)
    img = gaussian_filter(a, sigma=1.0)
    mad = stats.median_absolute_deviation(np.arange(5.0))
    ph = linalg.pinvh(a, cond=1e-10)
    t = sp.linspace(0, 1, 5)
    r = sp.sqrt(-1.0)
    c = 2 * sp.pi
    """
)
# line -> (old, old_keyword)
SCIPY_EXPECTED = {
    4: ("scipy.ndimage.filters.gaussian_filter", None),
    5: ("scipy.spatial.distance.matching", None),
    7: ("scipy.interpolate.interp2d", None),
    10: ("scipy.linalg.solve", "sym_pos"),
    11: ("scipy.linalg.pinv2", None),
    12: ("scipy.signal.hann", None),
    13: ("scipy.signal.hanning", None),
    14: ("scipy.stats.mode", None),
    15: ("scipy.spatial.distance.matching", None),
    16: ("scipy.sparse.linalg.minres", "tol"),
    17: ("scipy.ndimage.filters.gaussian_filter", None),
    18: ("scipy.stats.median_absolute_deviation", None),
    19: ("scipy.linalg.pinvh", "cond"),
    # NumPy names that scipy re-exported until 1.12.
    20: ("scipy.linspace", None),
    21: ("scipy.sqrt", None),
    22: ("scipy.pi", None),
}
# Safe fixes only: display entries (sym_pos, mode, interp2d, ...) and the unsafe pinv2 rename stay as written;
# scipy.sqrt was numpy.lib.scimath.sqrt (complex for negative input), not numpy.sqrt.
SCIPY_AFTER = textwrap.dedent(
    """\
    import numpy as np
    from scipy import linalg, stats
    from scipy.spatial.distance import hamming
    from scipy.sparse.linalg import minres
    from scipy.interpolate import interp2d
    from scipy.ndimage import gaussian_filter
    from scipy.signal.windows import hann
    from numpy.lib.scimath import sqrt

    a = np.eye(3)
    x = linalg.solve(a, np.ones(3), sym_pos=True)
    p = linalg.pinv2(a)
    w = hann(64)
    h = hann(64)
    m = stats.mode(np.array([1, 1, 2]))
    d = hamming([1, 0], [1, 1])
    s, info = minres(a, np.ones(3), rtol=1e-8)
    img = gaussian_filter(a, sigma=1.0)
    mad = stats.median_absolute_deviation(np.arange(5.0))
    ph = linalg.pinvh(a, cond=1e-10)
    t = np.linspace(0, 1, 5)
    r = sqrt(-1.0)
    c = 2 * np.pi
    """
)

# A model-training script written against scikit-learn 0.22-1.1.
OLD_SKLEARN = textwrap.dedent(
    """\
    import numpy as np
    from sklearn.externals import joblib
    from sklearn.linear_model import Ridge, Lasso, RANSACRegressor, BayesianRidge, LogisticRegression, RidgeCV
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
    from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures
    from sklearn.decomposition import KernelPCA
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.metrics import precision_recall_curve

    ridge = Ridge(alpha=1.0, normalize=True)
    lasso = Lasso(alpha=0.1, normalize=True)
    ransac = RANSACRegressor(base_estimator=ridge)
    bayes = BayesianRidge(n_iter=300)
    clf = LogisticRegression(multi_class="ovr")
    rcv = RidgeCV(store_cv_values=True)
    agg = AgglomerativeClustering(n_clusters=3, affinity="cosine", linkage="average")
    km = KMeans(n_clusters=3, n_jobs=4)
    rf = RandomForestClassifier(min_impurity_split=1e-7)
    search = GridSearchCV(rf, {"max_depth": [2, 4]}, iid=False)
    scores = cross_val_score(rf, np.ones((4, 2)), [0, 1, 0, 1], fit_params={"sample_weight": None})
    enc = OneHotEncoder().fit([["a"], ["b"]])
    names = enc.get_feature_names()
    poly = PolynomialFeatures(2).fit(np.ones((2, 2)))
    pnames = poly.get_feature_names()
    kpca = KernelPCA(n_components=2).fit(np.ones((4, 2)))
    vectors = kpca.alphas_
    tfidf = TfidfVectorizer().fit(["a b", "b c"])
    vocab = tfidf.get_feature_names()
    prec, rec, thr = precision_recall_curve([0, 1], probas_pred=[0.2, 0.8])
    n = rf.n_features_
    joblib.dump(rf, "model.joblib")
    ada = AdaBoostClassifier(n_estimators=5).fit(np.ones((4, 2)), [0, 1, 0, 1])
    stump = ada.base_estimator_
    """
)
SKLEARN_EXPECTED = {
    2: ("sklearn.externals.joblib", None),
    12: ("sklearn.linear_model.Ridge", "normalize"),
    13: ("sklearn.linear_model.Lasso", "normalize"),
    14: ("sklearn.linear_model.RANSACRegressor", "base_estimator"),
    15: ("sklearn.linear_model.BayesianRidge", "n_iter"),
    16: ("sklearn.linear_model.LogisticRegression", "multi_class"),
    17: ("sklearn.linear_model.RidgeCV", "store_cv_values"),
    18: ("sklearn.cluster.AgglomerativeClustering", "affinity"),
    19: ("sklearn.cluster.KMeans", "n_jobs"),
    20: ("sklearn.ensemble.RandomForestClassifier", "min_impurity_split"),
    21: ("sklearn.model_selection.GridSearchCV", "iid"),
    22: ("sklearn.model_selection.cross_val_score", "fit_params"),
    24: ("sklearn.preprocessing.OneHotEncoder.get_feature_names", None),
    26: ("sklearn.preprocessing.PolynomialFeatures.get_feature_names", None),
    28: ("sklearn.decomposition.KernelPCA.alphas_", None),
    # TfidfVectorizer is a CountVectorizer (facts `bases`): the base class's entry applies.
    30: ("sklearn.feature_extraction.text.CountVectorizer.get_feature_names", None),
    31: ("sklearn.metrics.precision_recall_curve", "probas_pred"),
    32: ("sklearn.ensemble.RandomForestClassifier.n_features_", None),
    33: ("sklearn.externals.joblib", None),
    # AdaBoostClassifier is a BaseEnsemble (facts `bases`).
    35: ("sklearn.ensemble.BaseEnsemble.base_estimator_", None),
}
# With --unsafe-fixes: keyword and attribute renames, get_feature_names_out; removed keywords stay for a person.
SKLEARN_CHANGED = {
    2: "import joblib",  # from sklearn.externals import joblib
    14: "ransac = RANSACRegressor(estimator=ridge)",
    15: "bayes = BayesianRidge(max_iter=300)",
    17: "rcv = RidgeCV(store_cv_results=True)",
    18: 'agg = AgglomerativeClustering(n_clusters=3, metric="cosine", linkage="average")',
    22: 'scores = cross_val_score(rf, np.ones((4, 2)), [0, 1, 0, 1], params={"sample_weight": None})',
    24: "names = enc.get_feature_names_out()",
    26: "pnames = poly.get_feature_names_out()",
    28: "vectors = kpca.eigenvectors_",
    30: "vocab = tfidf.get_feature_names_out()",
    31: "prec, rec, thr = precision_recall_curve([0, 1], y_score=[0.2, 0.8])",
    32: "n = rf.n_features_in_",
    35: "stump = ada.estimator_",
}


def _ids() -> dict[tuple[str, str | None], str]:
    return {(c.old, c.old_keyword): c.id for c in load_knowledge_base().changes}


def _findings(path: Path, target: str) -> dict[int, str]:
    result = run_migrate("--check", "--no-cache", "--format", "json", "--target", target, str(path))
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    findings = payload["findings"] if isinstance(payload, dict) else payload
    return {f["location"]["line"]: f["code"] for f in findings}


@pytest.mark.parametrize(
    ("source", "target", "expected", "prefix"),
    [(OLD_SCIPY, "scipy==1.17", SCIPY_EXPECTED, "SCIPY"), (OLD_SKLEARN, "scikit-learn==1.9", SKLEARN_EXPECTED, "SKL")],
    ids=["scipy", "scikit-learn"],
)
def test_old_scripts_are_flagged_with_the_right_ids(
    tmp_path: Path, source: str, target: str, expected: dict[int, tuple[str, str | None]], prefix: str
) -> None:
    path = tmp_path / "analysis.py"
    path.write_text(source, encoding="utf-8")
    ids = _ids()
    flagged = _findings(path, target)
    want = {line: ids[key] for line, key in expected.items()}
    assert all(code.startswith(prefix) for code in want.values())
    assert {line: flagged.get(line) for line in want} == want
    # Nothing else in the script is reported (the imports of names that did not change are clean).
    assert set(flagged) == set(want)


def test_scipy_safe_fixes_give_the_exact_source(tmp_path: Path) -> None:
    path = tmp_path / "analysis.py"
    path.write_text(OLD_SCIPY, encoding="utf-8")
    result = run_migrate("--apply", "--allow-dirty", "--no-cache", "--target", "scipy==1.17", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert path.read_text(encoding="utf-8") == SCIPY_AFTER


def test_sklearn_fixes_give_the_exact_source(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(OLD_SKLEARN, encoding="utf-8")
    result = run_migrate(
        "--apply", "--allow-dirty", "--unsafe-fixes", "--no-cache", "--target", "scikit-learn==1.9", str(path)
    )
    assert result.returncode in (0, 1), result.stderr
    before = OLD_SKLEARN.splitlines()
    expected = [SKLEARN_CHANGED.get(number, line) for number, line in enumerate(before, start=1)]
    assert path.read_text(encoding="utf-8").splitlines() == expected


def _severities(path: Path, target: str) -> list[str]:
    result = run_migrate("--check", "--no-cache", "--format", "json", "--target", target, str(path))
    payload = json.loads(result.stdout)
    findings = payload["findings"] if isinstance(payload, dict) else payload
    return [f"{f['code']}:{f['severity']}" for f in findings]


def test_removal_versions_follow_the_target(tmp_path: Path) -> None:
    """A keyword removed in 1.2 (deprecated in 1.0) is an error for a 1.2 target and a warning for 1.1."""
    path = tmp_path / "model.py"
    path.write_text("from sklearn import linear_model\nmodel = linear_model.Ridge(normalize=True)\n", encoding="utf-8")
    code = _ids()[("sklearn.linear_model.Ridge", "normalize")]
    assert _severities(path, "scikit-learn==1.1") == [f"{code}:warning"]
    assert _severities(path, "scikit-learn==1.2") == [f"{code}:error"]


def test_keyword_of_a_directly_imported_class_alone_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text("from sklearn.linear_model import Ridge\nmodel = Ridge(normalize=True)\n", encoding="utf-8")
    code = _ids()[("sklearn.linear_model.Ridge", "normalize")]
    assert _severities(path, "scikit-learn==1.2") == [f"{code}:error"]
