"""The package runs on the oldest Python it declares (``requires-python``, 3.10): no regular expression
may use syntax that came later. Possessive quantifiers and atomic groups (3.11) compile on the Python
that runs the tests and fail on 3.10 when the module is imported: ``engine/sparse.py`` had one, and every
``--check`` that read a module sparse stopped with ``multiple repeat`` there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: A quantifier made possessive (``a++``, ``\\w*+``, ``x?+``, ``{2}+``), or an atomic group (``(?>``).
NEWER_SYNTAX = re.compile(r"(?<!\\)(?:[*+?}]\+)|\(\?>")
#: Functions of :mod:`re` whose first argument is a pattern.
PATTERN_FUNCTIONS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _pattern_texts(node: ast.expr) -> list[str]:
    """The literal parts of a pattern argument (plain, bytes, f-strings, implicit concatenation)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value
        return [value.decode("latin-1") if isinstance(value, bytes) else value]
    if isinstance(node, ast.JoinedStr):
        return [part for value in node.values for part in _pattern_texts(value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pattern_texts(node.left) + _pattern_texts(node.right)
    return []


def _strip_classes(pattern: str) -> str:
    """``pattern`` without its character classes (``[*+]`` is no quantifier)."""
    return re.sub(r"\[(?:\\.|[^\]\\])*\]", "x", pattern)


def test_requires_python_is_the_floor_checked_here() -> None:
    declared = re.search(r'^requires-python = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert declared is not None and declared.group(1) == ">=3.10"


def test_no_regular_expression_uses_syntax_newer_than_python_3_10() -> None:
    found = []
    checked = 0
    for path in sorted((ROOT / "recode_lsp").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            function = node.func
            if not (
                isinstance(function, ast.Attribute)
                and function.attr in PATTERN_FUNCTIONS
                and isinstance(function.value, ast.Name)
                and function.value.id == "re"
            ):
                continue
            for text in _pattern_texts(node.args[0]):
                checked += 1
                if NEWER_SYNTAX.search(_strip_classes(text)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}")
    assert checked > 100  # the walk does see the package's patterns
    assert not found, "syntax Python 3.10 cannot compile:\n" + "\n".join(found)


def test_the_check_sees_the_syntax_it_looks_for() -> None:
    for newer in (r"\((?:[^()]++|x)*+\)", r"a?+", r"(?>ab|a)c", r"x{2}+"):
        assert NEWER_SYNTAX.search(_strip_classes(newer)), newer
    for older in (r"[*+]+", r"\++", r"a+b*c?", r"x{2}", r"(?:ab)+", r"\d+\+"):
        assert not NEWER_SYNTAX.search(_strip_classes(older)), older
