"""``recode-migrate`` on Jupyter notebooks: real notebooks from statsmodels' sdists (tests/notebooks/data)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.notebook import parse_notebook

DATA = Path(__file__).parent / "data"
REAL = sorted(path.name for path in DATA.glob("*.ipynb"))
TARGETS = '[tool.recode]\ntargets = ["numpy==2.0", "pandas==2.2", "scipy==1.14", "jax==0.5"]\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(TARGETS)
    for name in REAL:
        shutil.copyfile(DATA / name, root / name)
    monkeypatch.chdir(root)
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    return root


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--no-cache", "--allow-dirty", *args])
    out, err = capsys.readouterr()
    return code, out, err


def cell_line(path: Path, cell: int, line: int) -> str:
    """Line ``line`` (1-based) of cell ``cell`` (1-based, all cells) as nbformat would read it."""
    source = json.loads(path.read_text(encoding="utf-8"))["cells"][cell - 1]["source"]
    return ("".join(source) if isinstance(source, list) else source).splitlines()[line - 1]


def validate(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old notebooks have no cell ids: a warning, not an error
        nbformat.validate(nbformat.read(path, as_version=4))


def test_findings_are_reported_in_their_cells(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = migrate(capsys, ".")
    assert code == 1
    lines = sorted(line for line in out.splitlines() if ":cell " in line)
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["chi2_fitting.ipynb:cell", "6:28:36:"],
        ["discrete_choice_example_0.8.0.ipynb:cell", "38:1:1:"],
        ["exponential_smoothing.ipynb:cell", "19:3:4:"],
        ["exponential_smoothing.ipynb:cell", "20:3:4:"],
    ]
    # Each place is the old API's text in the cell nbformat reads.
    assert cell_line(project / "chi2_fitting.ipynb", 6, 28)[35:].startswith("delim_whitespace")
    assert cell_line(project / "exponential_smoothing.ipynb", 19, 3)[3:].startswith("append(")
    assert cell_line(project / "discrete_choice_example_0.8.0.ipynb", 38, 1).startswith("from scipy.misc")
    assert "Found 4 findings" in out and "in 3 of 4 files" in out


def test_apply_rewrites_only_the_changed_cells_and_a_second_run_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {name: (project / name).read_bytes() for name in REAL}
    code, out, err = migrate(capsys, ".", "--apply", "--unsafe-fixes")
    assert code == 1, err
    assert "Fixed 2 findings in 1 file." in out
    after = {name: (project / name).read_bytes() for name in REAL}
    assert {name for name in REAL if before[name] != after[name]} == {"exponential_smoothing.ipynb"}
    old_nb = parse_notebook(before["exponential_smoothing.ipynb"])
    new_nb = parse_notebook(after["exponential_smoothing.ipynb"])
    changed = [i for i, (a, b) in enumerate(zip(old_nb.cells, new_nb.cells, strict=True)) if a.source != b.source]
    assert changed == [18, 19]
    assert new_nb.cells[18].source.endswith(
        "pd.concat([df, fit1.forecast(8).rename(r'$\\hat{y}_t$').to_frame()], sort=True)"
    )
    # Everything but those two sources is the same JSON, and the bytes around them are the same bytes.
    strip = lambda nb: [{k: v for k, v in cell.items() if k != "source"} for cell in json.loads(nb.text)["cells"]]  # noqa: E731
    assert strip(old_nb) == strip(new_nb)
    assert {k: v for k, v in json.loads(old_nb.text).items() if k != "cells"} == {
        k: v for k, v in json.loads(new_nb.text).items() if k != "cells"
    }
    old_bytes, new_bytes = before["exponential_smoothing.ipynb"], after["exponential_smoothing.ipynb"]
    assert old_bytes[: old_nb.cells[18].start] == new_bytes[: new_nb.cells[18].start]
    assert old_bytes[old_nb.cells[19].end :] == new_bytes[new_nb.cells[19].end :]
    removed = [line for line in old_bytes.splitlines() if line not in new_bytes.splitlines()]
    assert len(removed) == 2 and all(b"df.append(" in line for line in removed)
    for name in REAL:
        validate(project / name)
    # Again: nothing left to fix, no byte changes.
    code, out, _ = migrate(capsys, ".", "--apply", "--unsafe-fixes")
    assert "Fixed 0 findings in 0 files." in out
    assert {name: (project / name).read_bytes() for name in REAL} == after


def test_diff_shows_cells(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "exponential_smoothing.ipynb").read_bytes()
    code, out, err = migrate(capsys, "exponential_smoothing.ipynb", "--diff", "--unsafe-fixes")
    assert code == 1
    assert out.startswith("--- a/exponential_smoothing.ipynb:cell 19\n+++ b/exponential_smoothing.ipynb:cell 19\n@@ ")
    assert "+++ b/exponential_smoothing.ipynb:cell 20\n" in out
    assert "-df.append(fit2.forecast(8)" in out and "+pd.concat([df, fit2.forecast(8)" in out
    assert "exponential_smoothing.ipynb:cell 19:3:4: PD001" in err
    assert (project / "exponential_smoothing.ipynb").read_bytes() == before


def test_json_and_sarif_carry_the_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = migrate(capsys, "chi2_fitting.ipynb", "--format", "json")
    report = json.loads(out)
    schema = json.loads((resources.files("recode_lsp.cli") / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    [finding] = report["findings"]
    assert (finding["cell"], finding["location"]) == (6, {"line": 28, "column": 36})
    _, out, _ = migrate(capsys, "chi2_fitting.ipynb", "--format", "sarif")
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["properties"] == {"cell": 6}
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 28
    _, out, _ = migrate(capsys, "chi2_fitting.ipynb", "--format", "github")
    assert out.startswith("::warning file=chi2_fitting.ipynb,title=PD191::cell 6:28:36: ")


def test_magics_and_r_cells_are_left_alone(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "mixed_lm_example.ipynb"
    source = path.read_text()
    assert "%%R" in source and "%load_ext" in source
    path.write_text(source.replace("import numpy as np", 'import numpy as np\\n",\n    "x = np.float_(1)'))
    edited = path.read_bytes()
    code, out, err = migrate(capsys, "mixed_lm_example.ipynb", "--apply")
    assert code == 1, err
    assert "Fixed 1 finding in 1 file." in out
    after = path.read_bytes()
    assert after == edited.replace(b"np.float_(1)", b"np.float64(1)")
    validate(path)


def test_a_new_import_goes_to_the_cell_with_the_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(TARGETS)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": ["%matplotlib inline"]},
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "outputs": [],
            "source": ["import jax.numpy as jnp"],
        },
        {
            "cell_type": "code",
            "execution_count": 3,
            "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["3.0\n"]}],
            "source": ["print(jnp.trapz(jnp.ones(4)))"],
        },
    ]
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(document, indent=1) + "\n")
    code, _, err = migrate(capsys, "nb.ipynb", "--apply")
    assert code == 1, err
    fixed = json.loads(path.read_text())["cells"]
    assert fixed[1]["source"] == ["%matplotlib inline"]
    assert fixed[2]["source"] == ["import jax.numpy as jnp\n", "from jax.scipy.integrate import trapezoid"]
    assert fixed[3]["source"] == ["print(trapezoid(jnp.ones(4)))"]
    assert fixed[3]["outputs"] == cells[3]["outputs"]
    validate(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"cells": [}', "not valid JSON"),
        (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}).encode(), "nbformat 3"),
        (
            json.dumps(
                {
                    "cells": [],
                    "metadata": {"kernelspec": {"language": "R", "name": "ir", "display_name": "R"}},
                    "nbformat": 4,
                    "nbformat_minor": 2,
                }
            ).encode(),
            "kernel runs r",
        ),
    ],
)
def test_a_bad_notebook_is_reported_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: bytes, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.ipynb").write_bytes(data)
    code, out, _ = migrate(capsys, ".", "--apply")
    assert code == 1
    assert "bad.ipynb: error: " in out and message in out and "(file left untouched)" in out
    assert (tmp_path / "bad.ipynb").read_bytes() == data


def test_notebooks_can_be_left_out(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".ipynb_checkpoints").mkdir()
    shutil.copyfile(DATA / "chi2_fitting.ipynb", project / ".ipynb_checkpoints" / "chi2_fitting-checkpoint.ipynb")
    _, out, _ = migrate(capsys, ".")
    assert "in 3 of 4 files" in out  # the checkpoint copy is not read
    code, out, err = migrate(capsys, ".", "--no-notebooks")
    assert code == 0 and "No Python files found" in err
    (project / "pyproject.toml").write_text(TARGETS + "notebooks = false\n")
    _, out, err = migrate(capsys, ".")
    assert "No Python files found" in err
    _, out, _ = migrate(capsys, ".", "--notebooks")
    assert "in 3 of 4 files" in out
    _, out, _ = migrate(capsys, "chi2_fitting.ipynb")  # named: always read
    assert "chi2_fitting.ipynb:cell 6:28:36" in out


def test_a_notebook_changed_since_it_was_read_is_not_written(project: Path) -> None:
    from recode_lsp.cli.runner import RunSettings, run_files
    from recode_lsp.cli.writes import write_results
    from recode_lsp.engine.knowledge import load_knowledge_base
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.versions import Version

    path = project / "exponential_smoothing.ipynb"
    settings = RunSettings("apply", True, DetectOptions(targets={"pandas": Version("2.2")}))
    [result] = run_files([str(path)], load_knowledge_base(), settings, 1, None)
    assert result.new_bytes is not None
    edited = path.read_bytes() + b"\n"
    path.write_bytes(edited)  # saved in Jupyter meanwhile
    outcome = write_results([result])
    assert [problem.reason for problem in outcome.problems] == [
        "changed since it was read; not overwritten (run again to fix it)"
    ]
    assert path.read_bytes() == edited


def test_a_symlinked_notebook_out_of_the_project_is_not_written(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.ipynb"
    shutil.copyfile(DATA / "exponential_smoothing.ipynb", outside)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "linked.ipynb").symlink_to(outside)
    code, _, err = migrate(capsys, "linked.ipynb", "--apply", "--unsafe-fixes")
    assert code == 2
    assert "outside the project" in err
    assert outside.read_bytes() == (DATA / "exponential_smoothing.ipynb").read_bytes()
    assert os.path.islink(project / "linked.ipynb")


def test_test_gated_apply_leaves_notebooks_unfixed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "exponential_smoothing.ipynb").read_bytes()
    _, out, err = migrate(capsys, "exponential_smoothing.ipynb", "--apply", "--unsafe-fixes", "--test", "true")
    assert "PD001 not fixed: not written: --test gates the fixes of modules, not notebooks" in out + err
    assert (project / "exponential_smoothing.ipynb").read_bytes() == before


def test_a_notebook_on_stdin(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    data = (project / "exponential_smoothing.ipynb").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = migrate(capsys, "-", "--stdin-filename", "exponential_smoothing.ipynb")
    assert code == 1
    assert "exponential_smoothing.ipynb:cell 19:3:4: PD001" in out


def test_a_cell_that_is_not_python_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(TARGETS)
    sources = [
        "import numpy as np",
        "def broken(:\n    pass",  # not Python, masked or not
        "%%bash\necho hi",  # left out by design: no note
        "%timeit np.ones(3)\nx = np.float_(1)",
    ]
    cells = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
        for source in sources
    ]
    document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(document, indent=1) + "\n")
    code, out, _ = migrate(capsys, "nb.ipynb")
    assert code == 1
    assert "nb.ipynb:cell 2: warning: cell not checked: not valid Python (even with IPython syntax masked)\n" in out
    assert "cell 3:" not in out
    assert "nb.ipynb:cell 4:2:5: NPY023" in out  # the other cells are checked
    _, out, _ = migrate(capsys, "nb.ipynb", "--format", "json")
    report = json.loads(out)
    schema = json.loads((resources.files("recode_lsp.cli") / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["warnings"] == [
        {
            "path": "nb.ipynb",
            "cell": 2,
            "warning": "cell not checked: not valid Python (even with IPython syntax masked)",
        }
    ]
    assert [finding["cell"] for finding in report["findings"]] == [4]
    # A notebook whose cells all read has no warnings key (the report stays as it was).
    path.write_text(json.dumps({**document, "cells": [cells[0], cells[3]]}, indent=1) + "\n")
    _, out, _ = migrate(capsys, "nb.ipynb", "--format", "json")
    assert "warnings" not in json.loads(out)
