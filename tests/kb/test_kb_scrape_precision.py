"""``recode-kb scrape`` precision: message constants resolved, no placeholder notes, no build plumbing."""

from __future__ import annotations

from pathlib import Path

from recode_lsp.kb import overlay
from tests.kb.fixture_lib import write_release
from tests.kb.test_kb_scrape import recode_kb

OLD = {
    "preclib/__init__.py": '''
        """preclib 1.0."""
        from preclib.sig import cwt, spread, wave
        ''',
    "preclib/setup.py": '''
        def configuration(parent_package="", top_path=None):
            """Build configuration (numpy.distutils era)."""
            return {}
        ''',
    "preclib/sig.py": '''
        def cwt(data, widths):
            """Continuous wavelet transform."""
            return data


        def wave(data, widths):
            """Continuous wavelet transform."""
            return data


        def spread(data):
            """Spread data."""
            return data
        ''',
}
NEW = {
    "preclib/__init__.py": OLD["preclib/__init__.py"].replace("1.0", "2.0"),
    "preclib/sig.py": '''
        import warnings

        _msg = "preclib.%s is deprecated in preclib 2.0; use preclib.sig.wave instead."


        def _build_message(name):
            return "%s is deprecated" % name


        def cwt(data, widths):
            """Continuous wavelet transform."""
            warnings.warn(_msg % "cwt", DeprecationWarning, stacklevel=2)
            return data


        def wave(data, widths):
            """Continuous wavelet transform."""
            return data


        def spread(data):
            """Spread data."""
            warnings.warn(_build_message("spread"), DeprecationWarning, stacklevel=2)
            return data
        ''',
}


def _scrape(tmp_path: Path) -> dict[str, overlay.ScrapedEntry]:
    write_release(tmp_path / "dist" / "preclib-1.0", OLD)
    write_release(tmp_path / "dist" / "preclib-2.0", NEW)
    out = tmp_path / "out.jsonl"
    result = recode_kb(
        "scrape",
        "preclib",
        "--from",
        "1.0",
        "--to",
        "2.0",
        "--dist",
        str(tmp_path / "dist"),
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return {e.record["old"]: e for e in overlay.loads(out.read_text(), str(out))}


def test_message_held_in_a_module_constant_is_resolved(tmp_path: Path) -> None:
    entries = _scrape(tmp_path)
    cwt = entries["preclib.cwt"].record
    assert cwt["note"] == "preclib.cwt is deprecated in preclib 2.0; use preclib.sig.wave instead."
    assert (cwt["kind"], cwt["new"], cwt["deprecated_in"]) == ("rename", "preclib.sig.wave", "2.0")


def test_message_built_at_run_time_is_described_not_a_placeholder(tmp_path: Path) -> None:
    note = _scrape(tmp_path)["preclib.spread"].record["note"]
    assert note != "deprecated"
    assert "preclib.sig.spread" in note


def test_build_plumbing_modules_are_not_api(tmp_path: Path) -> None:
    assert not [old for old in _scrape(tmp_path) if old.startswith("preclib.setup")]
