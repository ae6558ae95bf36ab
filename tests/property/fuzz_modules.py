"""Fuzz modules for ``recode-migrate --apply``: real sources with old APIs spliced in, and hypothesmith output.

A module is built from a Python file we did not write (the running interpreter's standard
library and the environment's site-packages) or from a hypothesmith-generated module. Uses of
old APIs from the shipped knowledge base (:data:`LEGACY`) and tricky surroundings
(:data:`TRICKY`: shadowed builtins, class attributes named ``np``, ``f"{x=}"``, comments
inside calls and import lists) are spliced in at random statement positions at module level
and inside class and function bodies, with the imports they need placed in one of several
ways (top of file, after the header, after the existing imports, inside a
``try/except ImportError`` guard, or inline right before the use). Finally the bytes get a
variant: CRLF, lone CR, mixed line endings, a UTF-8 BOM, latin-1 with a coding cookie, a
shebang, or no final newline.

Every module is guaranteed to compile with the running Python; everything is reproducible
from ``(seed, index)``. Used by ``tests/property/test_fuzz_apply.py`` and ``bench/fuzz_apply.py``.
"""

from __future__ import annotations

import ast
import codecs
import io
import os
import random
import re
import sys
import sysconfig
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: The targets every fuzz project migrates to (``[tool.recode] targets``).
TARGETS: tuple[str, ...] = ("numpy==2.0", "pandas==2.2", "python==3.12", "pydantic==2.8", "sqlalchemy==2.0")


@dataclass(frozen=True)
class Snippet:
    """Old-API code to splice in: statements written at indentation 0, and the imports they need.

    ``imports`` holds import lines; ``"np"`` and ``"pd"`` stand for numpy / pandas imported in
    one of several styles. ``np.`` in ``code`` becomes ``numpy.`` when numpy is imported unaliased.
    """

    code: str
    imports: tuple[str, ...] = ()


def _s(code: str, *imports: str) -> Snippet:
    return Snippet(code.strip("\n"), imports)


LEGACY: tuple[Snippet, ...] = (
    # numpy
    _s("x = np.float_(1.5)", "np"),
    _s("arr = np.asfarray([1, 2])", "np"),
    _s("arr2 = np.asfarray(values, dtype=np.float32)", "np"),
    _s("n = np.product((2, 3)); m = np.cumproduct([1, 2])", "np"),
    _s("v = np.NaN if flag else np.NAN", "np"),
    _s("stacked = np.row_stack([a, b])", "np"),
    _s("low, high = np.NINF, np.PINF; zero = np.PZERO + np.NZERO", "np"),
    _s("ok = np.alltrue(mask) or np.sometrue(mask)", "np"),
    _s("r = np.round_(3.14159, 2)", "np"),
    _s("hit = np.in1d([1, 2], [2])", "np"),
    _s("area = np.trapz([1, 2, 3])", "np"),
    _s("ordered = np.msort(np.array([3, 1, 2]))", "np"),
    _s("scalar = np.asscalar(np.array([1]))", "np"),
    _s("same = np.issubclass_(int, object)", "np"),
    _s("pi = np.math.pi", "np"),
    _s("mat = np.mat([[1, 2]])", "np"),
    _s("kinds = (np.string_, np.unicode_, np.complex_, np.cfloat, np.longfloat, np.singlecomplex)", "np"),
    _s("infs = [np.Inf, np.Infinity, np.infty]", "np"),
    _s("legacy = (np.bool8, np.int0, np.uint0, np.str0, np.bytes0, np.void0, np.object0)", "np"),
    _s("aliases = [np.float, np.int, np.bool, np.object, np.str, np.complex]", "np"),
    _s("try:\n    np.zeros(3).sum(axis=5)\nexcept np.AxisError as exc:  # moved\n    err = exc", "np"),
    _s("warn = (np.ComplexWarning, np.VisibleDeprecationWarning, np.RankWarning)", "np"),
    _s("spread = np.array([1, 5]).ptp()", "np"),
    _s("parsed = np.safe_eval('[1, 2]')", "np"),
    _s("payment = np.pmt(0.05 / 12, 360, 200000)", "np"),
    _s("fmt = np.format_parser(['f8'], ['a'], None)", "np"),
    _s("def to_float(values, kind=np.float_):\n    return np.asfarray(values) * kind(1)", "np"),
    _s("lookup = {'f': np.float_, 'c': np.complex_}[key]", "np"),
    _s("from numpy import float_, NaN as missing\nhalf = float_(0.5) if missing else None"),
    _s("from numpy import product, row_stack\ntotal = product(row_stack([[1], [2]]))"),
    # pandas
    _s(
        "df = pd.DataFrame({'a': [1]})\nother = pd.DataFrame({'a': [2]})\ndf = df.append(other, ignore_index=True)",
        "pd",
    ),
    _s("frame = pd.DataFrame()\nfor name, column in frame.iteritems():\n    print(name, column)", "pd"),
    _s("series = pd.Series([1, 2])\npairs = list(series.iteritems())", "pd"),
    _s("out = pd.DataFrame()\nout.to_csv('out.csv', line_terminator='\\r\\n', index=False)", "pd"),
    _s("idx = pd.Int64Index([1, 2, 3])", "pd"),
    _s("table = pd.DataFrame({'a': [1.5]})\nshown = table.applymap(str)", "pd"),
    _s("report = pd.DataFrame()\nreport.info(null_counts=True)", "pd"),
    _s("nan = pd.np.nan", "pd"),
    _s("stamp = pd.datetime(2020, 1, 1)", "pd"),
    _s("filled = pd.DataFrame().pad(); back = pd.Series([1]).backfill()", "pd"),
    _s("pd.util.testing.assert_frame_equal(pd.DataFrame(), pd.DataFrame())", "pd"),
    _s("flat = pd.io.json.json_normalize([{'a': {'b': 1}}])", "pd"),
    _s("pd.DataFrame().to_parquet(fname='x.parquet')", "pd"),
    _s("mono = pd.Index([1, 2]).is_monotonic", "pd"),
    _s("writer = pd.ExcelWriter('x.xlsx')\nwriter.save()", "pd"),
    _s(
        "grown = pd.DataFrame({'a': [1]}).append(  # grow the frame\n"
        "    pd.DataFrame({'a': [2]}),  # the new rows\n"
        "    ignore_index=True,\n)",
        "pd",
    ),
    # typing and collections
    _s(
        "def first(items: List[int], table: Dict[str, int]) -> Optional[int]:\n    return items[0]",
        "from typing import List, Dict, Optional",
    ),
    _s("names: List[str] = []\npairs: Tuple[int, ...] = ()", "from typing import List, Tuple"),
    _s(
        "def members(a: AbstractSet[int], b: Set[int]) -> FrozenSet[int]:\n    return frozenset(a | b)",
        "from typing import AbstractSet, Set, FrozenSet",
    ),
    _s(
        "handler: Callable[[int], None] = print\nseq: Sequence[Text] = ()",
        "from typing import Callable, Sequence, Text",
    ),
    _s(
        "counts: typing.DefaultDict[str, int] = collections.defaultdict(int)\nq: typing.Deque[int]",
        "import typing",
        "import collections",
    ),
    _s("cls_of: Type[Exception] = ValueError", "from typing import Type"),
    _s("class Registry(collections.MutableMapping):\n    pass", "import collections"),
    _s("ok = isinstance(thing, (collections.Iterable, collections.Sized))", "import collections"),
    _s("class Lookup(Mapping):  # read-only\n    pass", "from collections import Mapping, OrderedDict"),
    _s("pattern: Pattern[str]\nmatch: Match[str]", "from typing import Pattern, Match"),
    # pydantic
    _s(
        "class Item(BaseModel):\n"
        "    name: str = Field(..., regex=r'^[a-z]+$', min_items=1)  # constrained\n"
        "\n"
        "    class Config:  # v1 style\n"
        "        orm_mode = True  # read from the ORM\n"
        "        allow_population_by_field_name = True\n"
        "\n"
        "    @validator('name')\n"
        "    def lower(cls, value):\n"
        "        return value.lower()",
        "from pydantic import BaseModel, Field, validator",
    ),
    _s(
        "item = Item.parse_obj({'name': 'a'})\ndumped = item.dict(); text = item.json()",
        "from pydantic import BaseModel",
    ),
    _s(
        "class Model(BaseModel):\n    x: int = 0\n\n\n"
        "snapshot = Model().dict(exclude={'x'})\nschema = Model.schema_json()",
        "from pydantic import BaseModel",
    ),
    _s("@validate_arguments\ndef checked(x: int) -> int:\n    return x", "from pydantic import validate_arguments"),
    _s("values = parse_obj_as(List[int], ['1'])", "from pydantic import parse_obj_as", "from typing import List"),
    _s("class Settings(BaseSettings):\n    debug: bool = False", "from pydantic import BaseSettings"),
    _s(
        "class Custom(BaseModel):\n    def dict(self, **kw):\n        return {'custom': True}\n\n"
        "    def dump(self):\n        return self.dict()",
        "from pydantic import BaseModel",
    ),
    # sqlalchemy
    _s(
        "engine = create_engine('sqlite://')\nrows = engine.execute('SELECT 1')  # legacy",
        "from sqlalchemy import create_engine",
    ),
    _s("Base = declarative_base()", "from sqlalchemy.ext.declarative import declarative_base"),
    # standard library
    _s(
        "class LegacyTest(unittest.TestCase):\n"
        "    def test_it(self):\n"
        "        self.assertEquals(1, 1)  # old alias\n"
        "        self.assertRaisesRegexp(ValueError, 'x', int, 'x')\n"
        "        self.failUnless(True); self.assertNotEquals(1, 2)",
        "import unittest",
    ),
    _s(
        "root = ET.fromstring('<a><b/></a>')\nkids = root.getchildren()\nall_nodes = root.getiterator()",
        "import xml.etree.ElementTree as ET",
    ),
    _s(
        "worker = threading.Thread()\nalive = worker.isAlive(); label = worker.getName(); d = worker.isDaemon()",
        "import threading",
    ),
    _s("logging.warn('old %s', 'call')", "import logging"),
    _s("encoded = base64.encodestring(b'data')", "import base64"),
    _s("escaped = cgi.escape('<a>')", "import cgi"),
    _s("common = fractions.gcd(4, 6)", "import fractions"),
    _s("last = sys.last_type, sys.last_value, sys.last_traceback", "import sys"),
    _s("suite = unittest.makeSuite(unittest.TestCase)", "import unittest"),
    _s("parser = configparser.SafeConfigParser()", "import configparser"),
    _s("current = asyncio.Task.current_task()", "import asyncio"),
    _s("mod = imp.new_module('m')", "import imp"),
    _s("where = find_executable('python')", "from distutils.spawn import find_executable"),
)

#: Surroundings that have fooled fixers: shadowed builtins, class-scope names, f-string ``=``, comments.
TRICKY: tuple[Snippet, ...] = (
    _s("list = [1, 2]\nchildren = ET.fromstring('<a/>').getchildren()", "import xml.etree.ElementTree as ET"),
    _s("float = np.float32\nconverted = np.asfarray([1])", "np"),
    _s("def sub(issubclass, a, b):\n    return np.issubclass_(a, b)", "np"),
    _s("class K:\n    np = [[1.0]]\n    rows = [r for r in np.float_]", "np"),
    _s("class Holder:\n    np = None\n    kind = np.float_", "np"),
    _s("print(f'{np.float_=}')", "np"),
    _s("msg = f'{np.NaN=!r:>10} and {np.float_}'", "np"),
    _s("value = np.asfarray(  # convert\n    [1, 2],  # the data\n)  # done", "np"),
    _s("total = np.product(  # multiply\n    [1, 2]\n)", "np"),
    _s("math = None\nconstant = np.math.e", "np"),
    _s("ast = None\nliteral = np.safe_eval('1')", "np"),
    _s("def local(np):\n    return np.float_", "np"),
    _s("def hidden():\n    np = object()\n    return np.float_", "np"),
    _s("x = np.float_  # recode: ignore", "np"),
    _s("type = 'shadow'\n\n\ndef make(t: Type[int]) -> Type[int]:\n    return t", "from typing import Type"),
    _s("str = bytes\nlabel: Text = 'a'", "from typing import Text"),
    _s(
        "dict = OrderedDict\nmapping: Dict[str, int] = {}",
        "from typing import Dict",
        "from collections import OrderedDict",
    ),
    _s("def shadowed(list):\n    items: List[int] = list\n    return items", "from typing import List"),
    _s("bool = 1\nflag_type = np.bool", "np"),
    _s("object = None\nholder = np.object", "np"),
    _s(
        "json = None\nclass Schema(BaseModel):\n    a: int = 0\n\n\ntext = Schema.schema_json()",
        "from pydantic import BaseModel",
    ),
    _s("List = list  # rebound\nitems: List[int] = []", "from typing import List"),
    _s("s = 'np.float_ stays'  # np.float_ in a comment\nb = b'np.NaN'", "np"),
    _s("values = [np.float_ for np.float_ in ()] if False else []", "np"),
    _s("nested = {'k': [np.NaN, {'v': np.Inf}]}[  # index\n    'k'\n]", "np"),
    _s("lam = lambda np=np: np.float_", "np"),
    _s("def annotated(x: 'np.float_') -> 'List[int]':\n    return x", "np", "from typing import List"),
    # Names a fix would import or use, already taken by the module.
    _s("def literal_eval(text):\n    return text\n\n\nparsed = np.safe_eval('1')", "np"),
    _s("class AxisError(Exception):\n    pass\n\n\ntry:\n    pass\nexcept np.AxisError:\n    pass", "np"),
    _s(
        "def dumps(obj):\n    return ''\n\n\nclass S(BaseModel):\n    a: int = 0\n\n\ntext = S.schema_json()",
        "from pydantic import BaseModel",
    ),
    _s("gcd = None\ncommon = fractions.gcd(1, 2)", "import fractions"),
    _s("escape = str\nsafe = cgi.escape('<')", "import cgi"),
    _s("def with_math(math):\n    return np.math.pi + math", "np"),
    _s(
        "def with_json(json):\n    class S(BaseModel):\n        a: int = 0\n    return S.schema_json(), json",
        "from pydantic import BaseModel",
    ),
    _s("ModuleType = None\nmod = imp.new_module('x')", "import imp"),
    _s("def check(Mapping):\n    return isinstance(Mapping, collections.Mapping)", "import collections"),
    _s("datetime = 5\nstamp = pd.datetime(2020, 1, 1)", "pd"),
    _s("numpy = 'shadow'\nnan = pd.np.nan", "pd"),
    _s("def h(list):\n    return ET.fromstring('<a/>').getchildren(), list", "import xml.etree.ElementTree as ET"),
    _s("class Set:\n    pass\n\n\nmembers: AbstractSet[int] = frozenset()", "from typing import AbstractSet"),
    _s("collections = None\nq: typing.Deque[int]", "import typing"),
    _s("def pmt(*args):\n    return 0\n\n\npay = np.pmt(0.1, 1, 1)", "np"),
    _s("def uses_local():\n    import numpy as np\n    try:\n        pass\n    except np.AxisError:\n        pass"),
    _s("def local_frame():\n    import pandas\n    return pandas.np.nan"),
    _s("if TYPE_CHECKING:\n    from typing import List\nitems: 'List[int]' = []", "from typing import TYPE_CHECKING"),
    # Class and function scopes that rebind what a fix introduces.
    _s("class Last:\n    type = 'kind'\n    last = sys.last_type", "import sys"),
    _s(
        "class Tree:\n    list = []\n    kids = ET.fromstring('<a/>').getchildren()",
        "import xml.etree.ElementTree as ET",
    ),
    _s("def convert(float, x):\n    return np.asfarray(x)", "np"),
    _s("def later():\n    return np.asfarray([1])\n\n\nfloat = None", "np"),
    _s("def flags(bool):\n    return np.bool8, bool", "np"),
    # Stores, odd import forms, compatibility shims, re-exports, type comments.
    _s("np.NaN = float('nan')  # monkeypatch\ndel np.Inf", "np"),
    _s("import numpy.linalg\nvalue = numpy.float_(1)"),
    _s("import numpy as np, numpy as np2\nboth = (np.float_, np2.NaN)"),
    _s(
        "try:\n    from collections.abc import Mapping as AbcMapping\nexcept ImportError:  # py2\n"
        "    from collections import Mapping as AbcMapping"
    ),
    _s(
        "if sys.version_info >= (3, 9):\n    Alias = list\nelse:\n    Alias = typing.List",
        "import sys",
        "import typing",
    ),
    _s("__all__ = ['List', 'exported']\n\n\ndef exported(x: List[int]) -> None:\n    pass", "from typing import List"),
    _s("counts = {}  # type: Dict[str, List[int]]\nfirst: List[int] = []", "from typing import Dict, List"),
    _s(
        "def typed(a, b):\n    # type: (List[int], Optional[str]) -> Dict[str, int]\n    return {}",
        "from typing import Dict, List, Optional",
    ),
    _s("from numpy import *\nhalf = float_(0.5)"),
    _s("value = (yield_ := np.float_(1))", "np"),
    _s("match command:\n    case np.NaN:\n        pass\n    case [np.float_, *rest]:\n        pass", "np"),
    _s("@decorate(np.float_)\ndef decorated(kind=np.NaN, *, other=np.Inf):\n    pass", "np"),
    _s(
        'class Item2(BaseModel):\n    class Config:\n        """Settings."""\n\n        orm_mode = True\n'
        "        json_encoders = {complex: str}  # custom\n\n        def helper(self):\n            return 1",
        "from pydantic import BaseModel",
    ),
    _s(
        "class Sub(BaseModel):\n    class Config(BaseModel.Config):\n        allow_mutation = False",
        "from pydantic import BaseModel",
    ),
    _s(
        "rows = pd.DataFrame()\nrows = rows.append({'a': 1}, ignore_index=True)\nrows = rows.append([rows, rows])",
        "pd",
    ),
)

#: Lines from :data:`TRICKY` that no fix may change (``np`` there is not numpy, or the line says ignore).
FROZEN: tuple[str, ...] = (
    "rows = [r for r in np.float_]",
    "kind = np.float_",
    "return np.float_",
    "x = np.float_  # recode: ignore",
    "x = numpy.float_  # recode: ignore",
    "s = 'np.float_ stays'  # np.float_ in a comment",
    "b = b'np.NaN'",
)

NUMPY_IMPORTS = (
    "import numpy as np",
    "import numpy",
    "import numpy as np  # numerical arrays",
    "import numpy as np; import os as _os",
)
PANDAS_IMPORTS = ("import pandas as pd", "import pandas", "import pandas as pd  # frames")
PLACEMENTS = ("top", "header", "after_imports", "guarded", "inline", "header", "after_imports")
VARIANTS = ("plain",) * 8 + ("crlf", "crlf", "cr", "mixed", "bom", "latin1", "shebang", "no_final_newline")


@dataclass
class FuzzModule:
    """One generated module: its bytes, where it came from, and how it was built."""

    name: str
    data: bytes
    origin: str
    variant: str = "plain"
    notes: list[str] = field(default_factory=list)
    #: Name of a plain-LF UTF-8 twin of this module in the same batch (variants only).
    twin: str | None = None


def compiles(data: bytes | str) -> bool:
    """Whether the running Python compiles ``data`` (bytes: decoded as Python decodes a file)."""
    try:
        compile(data, "<fuzz>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError, OverflowError):
        return False
    return True


def decode_python(data: bytes) -> str:
    """Text as Python reads ``data`` (BOM, coding cookie), with universal newlines."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode("utf-8-sig" if encoding in {"utf-8", "utf-8-sig"} else encoding)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@lru_cache(maxsize=4)
def real_source_files(max_bytes: int) -> tuple[str, ...]:
    """``.py`` files of the standard library and site-packages, at most ``max_bytes`` long, sorted."""
    roots: list[str] = []
    paths = sysconfig.get_paths()
    for key in ("stdlib", "purelib", "platlib"):
        root = paths.get(key)
        if root and os.path.isdir(root) and root not in roots:
            roots.append(root)
    found: set[str] = set()
    for root in roots:
        for folder, dirs, files in os.walk(root):
            # site-packages lives inside the stdlib folder for system installs: walk it once, from its own root.
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and os.path.join(folder, d) not in roots[1:])
            for name in files:
                if name.endswith(".py"):
                    full = os.path.join(folder, name)
                    try:
                        size = os.path.getsize(full)
                    except OSError:
                        continue
                    if 0 < size <= max_bytes:
                        found.add(full)
    return tuple(sorted(found))


@dataclass(frozen=True)
class _Point:
    line: int  # 0-based line index to insert before
    indent: str
    scope: str  # "module", "class" or "function"


def _insertion_points(text: str, tree: ast.Module) -> list[_Point]:
    lines = text.split("\n")
    points: list[_Point] = []

    def visit_body(body: Sequence[ast.stmt], scope: str) -> None:
        for stmt in body:
            decorators = getattr(stmt, "decorator_list", None) or []
            first = min([stmt.lineno, *(d.lineno for d in decorators)]) - 1
            if first < len(lines):
                line = lines[first]
                col = decorators[0].col_offset - 1 if decorators else stmt.col_offset
                prefix = line.encode("utf-8")[: max(col, 0)].decode("utf-8", "replace")
                if prefix.strip() == "" and (first == 0 or not lines[first - 1].endswith("\\")):
                    points.append(_Point(first, prefix, scope))
            visit_stmt(stmt, scope)
        if body:
            last = body[-1]
            end = last.end_lineno or last.lineno
            if end < len(lines) and scope == "module":
                points.append(_Point(end, "", scope))

    def visit_stmt(stmt: ast.stmt, scope: str) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit_body(stmt.body, "function")
        elif isinstance(stmt, ast.ClassDef):
            visit_body(stmt.body, "class")
        else:
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit_body(inner, scope)
            for handler in getattr(stmt, "handlers", []) or []:
                visit_body(handler.body, scope)
            for case in getattr(stmt, "cases", []) or []:
                visit_body(case.body, scope)

    visit_body(tree.body, "module")
    return points


def _header_end(text: str, tree: ast.Module) -> int:
    """Line index after the docstring and ``__future__`` imports (where imports properly go)."""
    index = 0
    body = tree.body
    position = 0
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        index = first.end_lineno or first.lineno
        position = 1
    while position < len(body) and isinstance(body[position], ast.ImportFrom):
        node = body[position]
        assert isinstance(node, ast.ImportFrom)
        if node.module != "__future__":
            break
        index = node.end_lineno or node.lineno
        position += 1
    if index == 0:
        # Leading comments (shebang, coding cookie, licence) stay above the imports.
        lines = text.split("\n")
        while index < len(lines) and lines[index].lstrip().startswith("#"):
            index += 1
    return index


def _after_imports(tree: ast.Module, header: int) -> int:
    """Line index after the import block that follows the header (or the header end)."""
    index = header
    for stmt in tree.body:
        if stmt.lineno - 1 < header:
            continue
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            break
        index = stmt.end_lineno or stmt.lineno
    return index


def _import_lines(rng: random.Random, needed: list[str], np_style: str, pd_style: str) -> list[str]:
    """Import statements for ``needed``; ``from`` imports of one module are merged, sometimes with comments."""
    plain: list[str] = []
    froms: dict[str, list[str]] = {}
    for line in needed:
        if line == "np":
            line = np_style
        elif line == "pd":
            line = pd_style
        match = re.fullmatch(r"from ([\w.]+) import (.+)", line)
        if match:
            names = froms.setdefault(match.group(1), [])
            for name in match.group(2).split(","):
                if name.strip() not in names:
                    names.append(name.strip())
        elif line not in plain:
            plain.append(line)
    statements = list(plain)
    for module, names in froms.items():
        style = rng.random()
        if style < 0.5 or len(names) == 1:
            statements.append(f"from {module} import {', '.join(names)}")
        elif style < 0.8:
            inner = "".join(f"    {name},  # {name.lower()} here\n" for name in names)
            statements.append(f"from {module} import (  # old names\n{inner})")
        else:
            statements.append(f"from {module} import {names[0]}  # first\nfrom {module} import {', '.join(names[1:])}")
    rng.shuffle(statements)
    return statements


def _indent(code: str, indent: str) -> str:
    return "\n".join(indent + line if line.strip() else line for line in code.split("\n"))


def splice(rng: random.Random, text: str, *, snippets: int = 3) -> tuple[str, list[str]] | None:
    """Splice old-API snippets and their imports into ``text`` (which must compile); None if none fit."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    points = _insertion_points(text, tree)
    if not points:
        return None
    np_style = rng.choice(NUMPY_IMPORTS)
    pd_style = rng.choice(PANDAS_IMPORTS)
    placement = rng.choice(PLACEMENTS)
    chosen = [rng.choice(TRICKY if rng.random() < 0.3 else LEGACY) for _ in range(rng.randint(1, snippets))]
    notes = [f"placement={placement}", f"numpy={np_style!r}"]
    lines = text.split("\n")
    inserts: list[tuple[int, str]] = []
    needed: list[str] = []
    for snippet in chosen:
        point = rng.choice(points)
        code = snippet.code
        if np_style.startswith("import numpy;") or np_style == "import numpy":
            code = re.sub(r"\bnp\.", "numpy.", code)
            code = code.replace("np=np", "np=numpy")
        if placement == "inline":
            imports = _import_lines(rng, list(snippet.imports), np_style, pd_style)
            code = "\n".join([*imports, code])
        else:
            needed.extend(snippet.imports)
        inserts.append((point.line, _indent(code, point.indent) + "\n"))
        notes.append(f"{point.scope}@{point.line + 1}: {snippet.code.splitlines()[0][:60]}")
    if needed:
        block = "\n".join(_import_lines(rng, needed, np_style, pd_style)) + "\n"
        header = _header_end(text, tree)
        if placement == "top":
            at = 0
        elif placement == "after_imports":
            at = _after_imports(tree, header)
        else:
            at = header
        if placement == "guarded":
            fallback = "np = None" if "np" in needed else "pass"
            block = (
                "try:\n" + _indent(block.rstrip("\n"), "    ") + f"\nexcept ImportError:  # optional\n    {fallback}\n"
            )
        inserts.append((at, block))
    # Bottom-up, so earlier line numbers stay valid; at one line, imports go first.
    for at, block in sorted(inserts, key=lambda item: item[0], reverse=True):
        lines[at:at] = block.rstrip("\n").split("\n")
    result = "\n".join(lines)
    if not compiles(result):
        return None
    return result, notes


def variant_bytes(rng: random.Random, text: str, variant: str) -> tuple[bytes, str]:
    """Encode ``text`` (LF newlines) as ``variant``; falls back to plain UTF-8 where a variant cannot apply."""
    has_cookie = any(re.match(r"^[ \t\f]*#.*?coding[:=]", line) for line in text.split("\n")[:2])
    if variant == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8"), variant
    if variant == "cr":
        return text.replace("\n", "\r").encode("utf-8"), variant
    if variant == "mixed":
        parts = text.split("\n")
        joined = "".join(part + ("\r\n" if rng.random() < 0.5 else "\n") for part in parts[:-1]) + parts[-1]
        return joined.encode("utf-8"), variant
    if variant == "bom" and not has_cookie:
        return codecs.BOM_UTF8 + text.encode("utf-8"), variant
    if variant == "latin1" and not has_cookie:
        lines = text.split("\n")
        at = 1 if lines and lines[0].startswith("#!") else 0
        lines[at:at] = ["# -*- coding: latin-1 -*-", "# Copyright (c) Fran\u00e7ois M\u00fcller"]
        try:
            return "\n".join(lines).encode("latin-1"), variant
        except UnicodeEncodeError:
            pass
    if variant == "shebang" and not text.startswith("#!"):
        return ("#!/usr/bin/env python3\n" + text).encode("utf-8"), variant
    if variant == "no_final_newline":
        return text.rstrip("\n").encode("utf-8"), variant
    return text.encode("utf-8"), "plain"


def _source_text(path: str) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not compiles(data):
        return None
    try:
        text = decode_python(data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
    if "\x0c" in text or "\x00" in text:
        return None if len(text) > 50_000 else text
    return text


def hypothesmith_sources(count: int, seed: int) -> list[str]:
    """``count`` (or fewer) hypothesmith modules that compile, reproducible from ``seed``."""
    import hypothesmith
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    collected: list[str] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=max(count * 2, 1),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(hypothesmith.from_grammar(auto_target=False), hypothesmith.from_node(auto_target=False)))
    def collect(source: str) -> None:
        if len(collected) < count and source.strip() and compiles(source):
            collected.append(source.replace("\r\n", "\n").replace("\r", "\n"))

    collect()
    return collected


def _legacy_header_module(rng: random.Random, generated: str) -> str:
    """The existing property test's shape: imports, legacy snippets, and a generated module around them."""
    snippets = [rng.choice(LEGACY + TRICKY) for _ in range(rng.randint(1, 4))]
    imports = _import_lines(
        rng, [line for s in snippets for line in s.imports], "import numpy as np", "import pandas as pd"
    )
    body = [s.code for s in snippets]
    body.insert(rng.randint(0, len(body)), generated.rstrip("\n"))
    return "\n".join(imports) + "\n" + "\n".join(body) + "\n"


def generate_modules(
    count: int,
    seed: int,
    *,
    max_source_bytes: int = 40_000,
    hypothesmith_share: float = 0.15,
    generated: Sequence[str] | None = None,
    variant_twins: bool = True,
) -> Iterator[FuzzModule]:
    """``count`` fuzz modules (twins included), reproducible from ``seed``.

    ``generated`` supplies hypothesmith modules (else they are generated here, which is slow
    to start); a module with a byte variant is followed by its plain UTF-8 LF twin, so that a
    variant that loses findings shows up.
    """
    rng = random.Random(seed)
    files = real_source_files(max_source_bytes)
    pool = list(generated) if generated is not None else None
    made = 0
    attempts = 0
    while made < count and attempts < count * 20:
        attempts += 1
        use_generated = rng.random() < hypothesmith_share
        if use_generated:
            if pool is None:
                pool = hypothesmith_sources(max(count // 4, 10), seed)
            if not pool:
                continue
            base = rng.choice(pool)
            origin = "hypothesmith"
            if rng.random() < 0.5:
                text = _legacy_header_module(rng, base)
                if not compiles(text):
                    continue
                spliced: tuple[str, list[str]] | None = (text, ["legacy header"])
            else:
                spliced = splice(rng, base)
        else:
            path = rng.choice(files)
            base_text = _source_text(path)
            if base_text is None:
                continue
            origin = path
            spliced = splice(rng, base_text)
        if spliced is None:
            continue
        text, notes = spliced
        variant = rng.choice(VARIANTS)
        data, variant = variant_bytes(rng, text, variant)
        if not compiles(data):
            continue
        name = f"m{seed:x}_{made:05d}"
        module = FuzzModule(f"{name}.py", data, origin, variant, notes)
        if variant != "plain" and variant_twins and made + 1 < count:
            twin = FuzzModule(f"{name}_twin.py", text.encode("utf-8"), origin, "plain", [*notes, "twin"])
            if compiles(twin.data):
                module.twin = twin.name
                yield module
                yield twin
                made += 2
                continue
        yield module
        made += 1


def main(argv: Sequence[str] | None = None) -> int:
    """Write a few fuzz modules to a folder, to look at them: ``python -m tests.property.fuzz_modules DIR N SEED``."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0])
    folder.mkdir(parents=True, exist_ok=True)
    for module in generate_modules(int(args[1]), int(args[2]), hypothesmith_share=0.0):
        (folder / module.name).write_bytes(module.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
