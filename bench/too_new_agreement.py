"""Whether ``--too-new``'s lexical pre-check ever hides a finding the full tree walk makes, on real modules.

What is measured
----------------
The check reads most modules only lexically (``TooNew.needs_analysis`` and ``TooNew.evidence``, no parse:
recode_lsp/toonew/check.py) and walks a module's tree only where that pre-check says it may report. A
pre-check that says "nothing here" where the walk would report hides a finding, in the CLI and in the
language server alike. This benchmark parses every module of real releases, walks it with the pre-check
off (``findings(precheck=False)``: the slow path) and asks the pre-check about the same bytes:

* ``hidden``: modules where the walk reports what the pre-check hides: it says "nothing here"
  (``needs_analysis``), or the walk of the sparse parse its offsets give (``evidence``, the bodies without
  one read as ``pass``: recode_lsp/engine/sparse.py) misses a finding (must be 0);
* ``passed``: modules the pre-check lets through (the fewer beyond ``with_findings``, the cheaper the
  check; not a bound).

Corpora: the folders given with ``--corpus`` (each may be given more than once), else the releases the other
benchmarks unpack (``bench/.corpus`` of ``cli_throughput.py``, ``bench/.corpus-too-new`` of
``too_new_overhead.py``) where they are present, and the installed packages among ``--installed``
(default: NumPy, pandas, Matplotlib, SciPy, scikit-learn, PyTorch). Each corpus is checked against old
targets (``--targets``; the default pins releases and a Python older than the code, so that there is
something to find), reading the releases as ``recode-migrate --too-new`` does (installed, cached or
fetched).

A module's imports of its own package are checked too (``--as-cli``: left alone, as ``recode-migrate``
leaves them): a package's own names against an older release of it are uses to agree on. Nothing from the
corpora runs: modules are read and parsed, never imported.

Run ``python bench/too_new_agreement.py [--corpus DIR ...] [--installed numpy,pandas] [--targets "..."]
[--sample N]``. One line per corpus: ``too_new_agreement: corpus=... files=... with_findings=... passed=...
hidden=...``; the exit status is 1 when any finding was hidden (each is listed first).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from recode_lsp.engine.detector import SourceError, analyse  # noqa: E402
from recode_lsp.engine.knowledge import load_knowledge_base  # noqa: E402
from recode_lsp.engine.options import DetectOptions  # noqa: E402
from recode_lsp.engine.prefilter import Prefilter  # noqa: E402
from recode_lsp.engine.rules import rule_triggers  # noqa: E402
from recode_lsp.engine.sparse import sparse_analysis  # noqa: E402
from recode_lsp.engine.versions import Version  # noqa: E402
from recode_lsp.toonew.check import TooNew  # noqa: E402
from recode_lsp.toonew.first_party import own_package  # noqa: E402
from recode_lsp.toonew.run import prepare  # noqa: E402

#: Releases and a Python older than the code of the corpora: names and keywords there are too new.
DEFAULT_TARGETS = "numpy==1.20 pandas==1.3 scikit-learn==1.0 scipy==1.7 matplotlib==3.3 torch==1.10 python==3.8"
DEFAULT_INSTALLED = "numpy,pandas,matplotlib,scipy,sklearn,torch"
CORPORA = (BENCH / ".corpus", BENCH / ".corpus-too-new")


@dataclass
class Agreement:
    """What the pre-check said of the modules of one corpus, against the walk."""

    files: int = 0
    with_findings: int = 0
    passed: int = 0
    hidden: list[tuple[str, list[str]]] = field(default_factory=list)

    def line(self, corpus: str) -> str:
        return (
            f"too_new_agreement: corpus={corpus} files={self.files} with_findings={self.with_findings} "
            f"passed={self.passed} hidden={len(self.hidden)}"
        )


def parse_targets(text: str) -> dict[str, Version]:
    """``"numpy==1.20 python==3.8"`` -> {library: version}; a malformed item is an error."""
    targets: dict[str, Version] = {}
    for item in text.split():
        name, separator, version = item.partition("==")
        if not separator or not name or not version:
            raise ValueError(f"--targets: {item!r} is not library==version")
        targets[name.strip().lower()] = Version(version)
    return targets


def module_files(folder: Path) -> list[Path]:
    """The ``.py`` files under ``folder`` (no symlink followed), in a stable order."""
    return sorted(path for path in folder.rglob("*.py") if path.is_file() and not path.is_symlink())


def agree(
    check: TooNew, files: Sequence[Path], options: DetectOptions, prefilter: Prefilter, *, as_cli: bool = False
) -> Agreement:
    """Walk each module with and without the pre-check (see the module docs). Both of the CLI's readings
    are asked: ``needs_analysis`` (a module the knowledge base has nothing for) and ``evidence`` (the
    offsets the walk of a sparse parse keeps the bodies of: its findings must be the whole walk's).
    ``as_cli``: a module's imports of its own package are left unchecked, as the CLI leaves them (else they
    are checked too: more uses to agree on). ``prefilter``: the run's, for the sparse parse."""
    result = Agreement()
    known: dict[str, str | None] = {}
    for path in files:
        try:
            data = path.read_bytes()
            text = data.decode("utf-8")
            analysis = analyse(text, str(path))
        except (OSError, UnicodeDecodeError, SourceError, RecursionError, ValueError):
            continue  # not a module the check reads either
        result.files += 1
        package = own_package(str(path), known) if as_cli else None
        slow = check.findings(analysis, options, str(path), precheck=False, package=package)
        needs = check.needs_analysis(data, None, package)
        result.with_findings += bool(slow)
        result.passed += needs
        if not slow:
            continue
        missed = [] if needs else slow
        if not missed and data.isascii():
            evidence = check.evidence(data, None, package)
            if evidence == []:
                missed = slow
            else:
                sparse = sparse_analysis(data, text, str(path), prefilter, kb_relevant=False, more_evidence=evidence)
                if sparse is not None:
                    kept = check.findings(sparse, options, str(path), precheck=False, package=package)
                    seen = {(finding.range, finding.change.id) for finding in kept}
                    missed = [finding for finding in slow if (finding.range, finding.change.id) not in seen]
        if missed:
            result.hidden.append((str(path), sorted({finding.change.old for finding in missed})))
    return result


def installed_folders(names: Sequence[str]) -> list[tuple[str, Path]]:
    """(name, folder) of each installed package among ``names`` (found without importing it)."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.append((name, Path(next(iter(spec.submodule_search_locations)))))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, action="append", default=[], help="a folder of .py files (repeatable)")
    parser.add_argument(
        "--installed", default=DEFAULT_INSTALLED, help=f"installed packages to read (default {DEFAULT_INSTALLED})"
    )
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help=f'library==version ... (default "{DEFAULT_TARGETS}")'
    )
    parser.add_argument("--sample", type=int, default=0, help="at most this many modules per corpus (0: all)")
    parser.add_argument(
        "--as-cli", action="store_true", help="leave a module's imports of its own package unchecked, as the CLI does"
    )
    args = parser.parse_args(argv)
    try:
        targets = parse_targets(args.targets)
    except ValueError as exc:
        parser.error(str(exc))
    if args.sample < 0:
        parser.error("--sample must be 0 or more")
    corpora: list[tuple[str, Path]] = [(folder.name, folder) for folder in args.corpus]
    if not corpora:
        corpora = [(folder.name, folder) for folder in CORPORA if folder.is_dir()]
        corpora += installed_folders([name.strip() for name in args.installed.split(",") if name.strip()])
    missing = [str(folder) for _, folder in corpora if not folder.is_dir()]
    if missing:
        parser.error(f"--corpus: no such folder: {', '.join(missing)}")
    if not corpora:
        parser.error("no corpus: give --corpus, or install one of --installed")
    kb = load_knowledge_base()
    options = DetectOptions(targets=dict[str, Version | None](targets))
    # The same for every corpus: built once.
    prefilter = Prefilter([change for change in kb.changes if options.severity(change) is not None], rule_triggers())
    hidden = 0
    for name, folder in corpora:
        files = module_files(folder)
        if args.sample and len(files) > args.sample:
            files = sorted(random.Random(19).sample(files, args.sample))
        check = prepare(targets, kb, paths=[str(path) for path in files], warn=sys.stderr)
        result = agree(check, files, options, prefilter, as_cli=args.as_cli)
        for path, names in result.hidden:
            print(f"hidden: {path}: {', '.join(names)}")
        print(result.line(name), flush=True)
        hidden += len(result.hidden)
    return 1 if hidden else 0


if __name__ == "__main__":
    sys.exit(main())
