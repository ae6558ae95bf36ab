"""The widened JAX (0.4.1 -> 0.10.2), PyTorch (public paths) and Scrapy (2.0 -> 2.6) entries, via ``recode-migrate``.

A model written against JAX 0.4.2x, a helper module written against PyTorch 2.0 and a spider written against
Scrapy 2.0 are checked against the newest releases: every old use is flagged with its entry's id (``jax.core``
names moved to ``jax.extend.core``, ``jax.lib.xla_bridge``, ``jax.extend.ffi``, the ``jax.tree_*`` aliases,
``jax.numpy`` keyword renames and deprecated aliases, ``torch.autograd.gradcheck`` called by its public name,
torch's ``_deprecated_attrs``, Scrapy's ``BaseItem`` and sgml link extractors), the mechanical fixes rewrite the
files to exactly the expected source, and the target version decides what is reported.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

MODEL = textwrap.dedent(
    '''\
    """Model code written against JAX 0.4.2x."""

    import jax
    import jax.numpy as jnp
    from jax import core
    from jax.core import ClosedJaxpr, Jaxpr, Primitive
    from jax.extend import ffi
    from jax.lib import xla_bridge
    from jax.random import KeyArray


    def params_init(key: KeyArray, shape):
        w = jax.random.normal(key, shape)
        return jax.tree_map(lambda x: x * 2, {"w": w})


    def forward(params, x):
        y = jnp.reshape(x, newshape=(-1,))
        y = jnp.clip(y, a_min=0.0, a_max=1.0)
        z = jnp.round_(y, 2)
        leaves = jax.tree_leaves(params)
        s = jnp.msort(z)
        return z, leaves, s, jnp.linalg.pinv(x[:, None], rcond=1e-6)


    def lower(f, x):
        closed = jax.make_jaxpr(f)(x)
        assert isinstance(closed, ClosedJaxpr) and isinstance(closed.jaxpr, Jaxpr)
        prim = Primitive("my_op")
        backend = xla_bridge.get_backend()
        print(core.get_aval(x), backend.platform, jax.lib.xla_bridge.default_backend())
        lib = ffi.ffi_call("my_target", jax.ShapeDtypeStruct(x.shape, x.dtype))
        return prim, lib


    def run(x):
        q = jnp.percentile(x, 50, interpolation="linear")
        jax.clear_backends()
        key = jax.random.rbg_key(0)
        return q, jnp.NINF, jax.random.shuffle(key, x), jax.lax.tie_in(x, q)
    '''
)
# A unique piece of each flagged line -> the ids reported on it (target jax==0.10.2).
MODEL_FLAGGED = {
    "from jax.core import": {"JAX030", "JAX042", "JAX052"},
    "from jax.extend import ffi": {"JAX241"},
    "from jax.lib import xla_bridge": {"JAX327"},
    "from jax.random import KeyArray": {"JAX419"},
    "def params_init(key: KeyArray": {"JAX419"},
    "jax.tree_map(": {"JAX006"},
    "newshape=": {"JAX405"},
    "a_min=0.0, a_max=1.0": {"JAX391", "JAX392"},
    "jnp.round_(": {"JAX406"},
    "jax.tree_leaves(": {"JAX008"},
    "jnp.msort(": {"JAX399"},
    "rcond=1e-6": {"JAX398"},
    "isinstance(closed, ClosedJaxpr)": {"JAX030", "JAX042"},
    'Primitive("my_op")': {"JAX052"},
    # The module's removal (JAX327, display-only) is not repeated where a member's move fixes the site.
    "xla_bridge.get_backend()": {"JAX329"},
    "core.get_aval(x)": {"JAX088", "JAX328"},
    "ffi.ffi_call(": {"JAX241", "JAX242"},
    "interpolation=": {"JAX402"},
    "jax.clear_backends()": {"JAX023"},
    "rbg_key(0)": {"JAX422"},
    "jnp.NINF": {"JAX386", "JAX423", "JAX323"},
}
# Whole lines rewritten by the safe fixes (None: the line is dropped).
MODEL_FIXED_LINES: dict[str, str | None] = {
    "from jax.core import ClosedJaxpr, Jaxpr, Primitive": None,
    "from jax.extend import ffi": None,
    "from jax.lib import xla_bridge": None,
    "from jax.random import KeyArray": (
        "from jax.random import KeyArray\n"
        "from jax.extend.core import ClosedJaxpr, Jaxpr, Primitive\n"
        "from jax.tree_util import tree_map, tree_leaves\n"
        "from jax.extend.backend import get_backend\n"
        "from jax.ffi import ffi_call"
    ),
    '    return jax.tree_map(lambda x: x * 2, {"w": w})': '    return tree_map(lambda x: x * 2, {"w": w})',
    "    y = jnp.reshape(x, newshape=(-1,))": "    y = jnp.reshape(x, shape=(-1,))",
    "    y = jnp.clip(y, a_min=0.0, a_max=1.0)": "    y = jnp.clip(y, min=0.0, max=1.0)",
    "    z = jnp.round_(y, 2)": "    z = jnp.round(y, 2)",
    "    leaves = jax.tree_leaves(params)": "    leaves = tree_leaves(params)",
    "    s = jnp.msort(z)": "    s = jnp.sort(z, axis=0)",
    "    return z, leaves, s, jnp.linalg.pinv(x[:, None], rcond=1e-6)": (
        "    return z, leaves, s, jnp.linalg.pinv(x[:, None], rtol=1e-6)"
    ),
    "    backend = xla_bridge.get_backend()": "    backend = get_backend()",
    "    print(core.get_aval(x), backend.platform, jax.lib.xla_bridge.default_backend())": (
        "    print(core.get_aval(x), backend.platform, jax.default_backend())"
    ),
    '    lib = ffi.ffi_call("my_target", jax.ShapeDtypeStruct(x.shape, x.dtype))': (
        '    lib = ffi_call("my_target", jax.ShapeDtypeStruct(x.shape, x.dtype))'
    ),
    '    q = jnp.percentile(x, 50, interpolation="linear")': '    q = jnp.percentile(x, 50, method="linear")',
    "    key = jax.random.rbg_key(0)": "    key = jax.random.PRNGKey(0, impl='rbg')",
    "    return q, jnp.NINF, jax.random.shuffle(key, x), jax.lax.tie_in(x, q)": (
        "    return q, -jnp.inf, jax.random.shuffle(key, x), jax.lax.tie_in(x, q)"
    ),
}
# Rewritten only with --unsafe-fixes (the entries' notes say what may differ).
MODEL_UNSAFE_LINES: dict[str, str | None] = {
    "from jax import core": None,
    "from jax.random import KeyArray": (
        "from jax import Array\n"
        "from jax.extend.core import ClosedJaxpr, Jaxpr, Primitive\n"
        "from jax.tree_util import tree_map, tree_leaves\n"
        "from jax.extend.backend import get_backend\n"
        "from jax.ffi import ffi_call"
    ),
    "def params_init(key: KeyArray, shape):": "def params_init(key: Array, shape):",
    "    print(core.get_aval(x), backend.platform, jax.lib.xla_bridge.default_backend())": (
        "    print(jax.typeof(x), backend.platform, jax.default_backend())"
    ),
    "    return q, jnp.NINF, jax.random.shuffle(key, x), jax.lax.tie_in(x, q)": (
        "    return q, -jnp.inf, jax.random.permutation(key, x, independent=True), jax.lax.tie_in(x, q)"
    ),
}

HELPERS = textwrap.dedent(
    '''\
    """Helpers written against PyTorch 2.0."""

    import torch
    from torch.autograd import gradcheck
    from torch.autograd.function import traceable
    from torch.autograd.gradcheck import gradcheck as module_gradcheck
    from torch.utils.data.datapipes.iter.grouping import ShardingFilterIterDataPipe


    @traceable
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x


    def check(f, x, parts):
        first = torch.autograd.gradcheck(f, (x,), check_sparse_nnz=True)
        second = gradcheck(f, (x,), check_sparse_nnz=True)
        third = module_gradcheck(f, (x,), check_sparse_nnz=True)
        nested = torch.nested.as_nested_tensor(tensor_list=parts)
        if torch.has_cuda and not torch.has_mps:
            torch.set_vital("Dataloader", "enabled", "True")
        return first, second, third, nested, torch.has_cudnn


    def shard(pipe):
        return ShardingFilterIterDataPipe(pipe)
    '''
)
HELPERS_FLAGGED = {
    "import traceable": {"TORCH197"},
    "@traceable": {"TORCH197"},
    "first = torch.autograd.gradcheck(": {"TORCH094"},
    "second = gradcheck(": {"TORCH094"},
    "third = module_gradcheck(": {"TORCH191"},
    "tensor_list=parts": {"TORCH198"},
    "torch.has_cuda and": {"TORCH192", "TORCH193"},
    "torch.set_vital(": {"TORCH196"},
    "torch.has_cudnn": {"TORCH194"},
    "import ShardingFilterIterDataPipe": {"TORCH200"},
    "return ShardingFilterIterDataPipe(": {"TORCH200"},
}
HELPERS_FIXED_LINES: dict[str, str | None] = {
    "from torch.utils.data.datapipes.iter.grouping import ShardingFilterIterDataPipe": (
        "from torch.utils.data.datapipes.iter.sharding import ShardingFilterIterDataPipe\n"
        "from torch.backends.cuda import is_built\n"
        "import torch.backends.mps\n"
        "from torch.backends.cudnn import is_available"
    ),
    "    nested = torch.nested.as_nested_tensor(tensor_list=parts)": (
        "    nested = torch.nested.as_nested_tensor(ts=parts)"
    ),
    "    if torch.has_cuda and not torch.has_mps:": "    if is_built() and not torch.backends.mps.is_built():",
    "    return first, second, third, nested, torch.has_cudnn": (
        "    return first, second, third, nested, is_available()"
    ),
}

SPIDER = textwrap.dedent(
    '''\
    """A spider written against Scrapy 2.0."""

    import scrapy
    from scrapy.http import TextResponse
    from scrapy.item import BaseItem
    from scrapy.linkextractors.sgml import SgmlLinkExtractor
    from scrapy.utils.markup import remove_tags


    class Page(BaseItem):
        pass


    class OldSpider(scrapy.Spider):
        name = "old"
        links = SgmlLinkExtractor(allow=r"/page/")

        def start_requests(self):
            for url in self.start_urls:
                yield self.make_requests_from_url(url)

        def parse(self, response: TextResponse):
            text = response.body_as_unicode()
            yield {"text": remove_tags(text)}
    '''
)
SPIDER_FLAGGED = {
    "from scrapy.item import BaseItem": {"SCRAPY124"},
    "import SgmlLinkExtractor": {"SCRAPY127"},
    "from scrapy.utils.markup import": {"SCRAPY138"},
    "class Page(BaseItem)": {"SCRAPY124"},
    "= SgmlLinkExtractor(": {"SCRAPY127"},
    "def start_requests(self)": {"SCRAPY001"},  # the override of a hook Scrapy 2.13 deprecated
    "self.make_requests_from_url(url)": {"SCRAPY122"},
    "response.body_as_unicode()": {"SCRAPY123"},
}
SPIDER_FIXED_LINES: dict[str, str | None] = {
    "        text = response.body_as_unicode()": "        text = response.text",
}
SPIDER_UNSAFE_LINES: dict[str, str | None] = {
    "from scrapy.item import BaseItem": "from scrapy.item import Item",
    "from scrapy.linkextractors.sgml import SgmlLinkExtractor": None,
    "from scrapy.utils.markup import remove_tags": (
        "from scrapy.utils.markup import remove_tags\nfrom scrapy.linkextractors import LinkExtractor"
    ),
    "class Page(BaseItem):": "class Page(Item):",
    '    links = SgmlLinkExtractor(allow=r"/page/")': '    links = LinkExtractor(allow=r"/page/")',
    "            yield self.make_requests_from_url(url)": "            yield scrapy.Request(url, dont_filter=True)",
}


def _edited(source: str, lines: Mapping[str, str | None]) -> str:
    """``source`` with whole lines replaced (each must occur exactly once) or dropped (None)."""
    for line in lines:
        assert source.splitlines().count(line) == 1, line
    result = []
    for line in source.splitlines():
        if line in lines:
            replacement = lines[line]
            if replacement is not None:
                result.append(replacement)
        else:
            result.append(line)
    return "\n".join(result) + "\n"


def _findings(path: Path, *targets: str) -> list[dict[str, object]]:
    args = [arg for target in targets for arg in ("--target", target)]
    result = run_migrate("--check", "--no-cache", "--format", "json", *args, str(path))
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


def _flagged(path: Path, *targets: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for finding in _findings(path, *targets):
        location = finding["location"]
        assert isinstance(location, dict)
        found.setdefault(location["line"], set()).add(str(finding["code"]))
    return found


def _expected_lines(source: str, flagged: dict[str, set[str]]) -> dict[int, set[str]]:
    expected: dict[int, set[str]] = {}
    lines = source.splitlines()
    for marker, codes in flagged.items():
        numbers = [number for number, line in enumerate(lines, 1) if marker in line]
        assert len(numbers) == 1, (marker, numbers)
        expected[numbers[0]] = codes
    return expected


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(MODEL, encoding="utf-8")
    return path


@pytest.fixture
def spider(tmp_path: Path) -> Path:
    path = tmp_path / "spider.py"
    path.write_text(SPIDER, encoding="utf-8")
    return path


@pytest.fixture
def helpers(tmp_path: Path) -> Path:
    path = tmp_path / "helpers.py"
    path.write_text(HELPERS, encoding="utf-8")
    return path


def test_widened_jax_entries_are_unique_and_cite_release_sources() -> None:
    kb = load_knowledge_base()
    jax_changes = [c for c in kb.changes if c.library == "jax"]
    assert len(jax_changes) >= 400
    assert len({c.id for c in jax_changes}) == len(jax_changes)
    keys = Counter((c.old, c.old_keyword) for c in jax_changes)
    assert [key for key, count in keys.items() if count > 1] == []
    for change in jax_changes:
        assert change.id.startswith("JAX"), change.id
        assert re.search(r"\bjax/[\w/]+\.pyi?:\d+", change.source), (change.id, change.source)
        assert change.deprecated_in or change.removed_in, change.id
    by_old = {(c.old, c.old_keyword): c for c in jax_changes}

    def versions(old: str, keyword: str | None = None) -> tuple[str | None, str | None]:
        change = by_old[old, keyword]
        return (
            None if change.deprecated_in is None else str(change.deprecated_in),
            None if change.removed_in is None else str(change.removed_in),
        )

    # Versions read from the releases' _deprecations tables and signatures.
    assert versions("jax.core.Jaxpr") == ("0.4.38", "0.6.0")
    assert by_old["jax.core.Jaxpr", None].new == "jax.extend.core.Jaxpr"
    assert versions("jax.numpy.reshape", "newshape") == ("0.4.28", "0.4.36")
    assert versions("jax.tree_map") == ("0.4.26", "0.6.0")
    assert versions("jax.clear_backends") == ("0.4.26", "0.4.36")
    assert versions("jax.lib.xla_bridge") == (None, "0.9.0")


def test_torch_entries_use_the_public_path_users_call() -> None:
    kb = load_knowledge_base()
    torch_by_id = {c.id: c for c in kb.changes if c.library == "torch"}
    assert torch_by_id["TORCH094"].old == "torch.autograd.gradcheck"
    assert torch_by_id["TORCH094"].old_keyword == "check_sparse_nnz"
    assert torch_by_id["TORCH191"].old == "torch.autograd.gradcheck.gradcheck"
    assert {torch_by_id[f"TORCH{n}"].old for n in range(192, 196)} == {
        "torch.has_cuda",
        "torch.has_mps",
        "torch.has_cudnn",
        "torch.has_mkldnn",
    }


def test_jax_model_uses_are_flagged_with_their_ids(model: Path) -> None:
    assert _flagged(model, "jax==0.10.2") == _expected_lines(MODEL, MODEL_FLAGGED)


def test_jax_model_safe_fixes_give_exactly_the_expected_source(model: Path) -> None:
    result = run_migrate("--apply", "--no-cache", "--target", "jax==0.10.2", str(model))
    assert result.returncode in (0, 1), result.stderr
    assert model.read_text(encoding="utf-8") == _edited(MODEL, MODEL_FIXED_LINES)


def test_jax_model_unsafe_fixes_need_the_flag(model: Path) -> None:
    result = run_migrate("--apply", "--unsafe-fixes", "--no-cache", "--target", "jax==0.10.2", str(model))
    assert result.returncode in (0, 1), result.stderr
    assert model.read_text(encoding="utf-8") == _edited(MODEL, {**MODEL_FIXED_LINES, **MODEL_UNSAFE_LINES})


def test_jax_target_decides_severity(model: Path) -> None:
    severity = {(str(f["code"]), str(f["severity"])) for f in _findings(model, "jax==0.4.30")}
    codes = {code for code, _ in severity}
    assert ("JAX405", "warning") in severity  # reshape(newshape=): deprecated 0.4.28, removed 0.4.36
    assert ("JAX006", "warning") in severity  # jax.tree_map: deprecated 0.4.26, removed 0.6.0
    assert ("JAX419", "error") in severity  # jax.random.KeyArray: removed 0.4.24
    assert ("JAX399", "error") in severity  # jax.numpy.msort: removed 0.4.10
    # Deprecated after 0.4.30: jnp.round_ (0.4.33), jax.core.Jaxpr (0.4.38), jax.extend.ffi (0.5.0),
    # jax.core.get_aval (0.8.2), jax.lib.xla_bridge (removed 0.9.0 without a deprecation).
    assert not codes & {"JAX406", "JAX042", "JAX241", "JAX088", "JAX327"}


def test_torch_helpers_are_flagged_with_their_ids(helpers: Path) -> None:
    assert _flagged(helpers, "torch==2.13") == _expected_lines(HELPERS, HELPERS_FLAGGED)


def test_torch_helpers_safe_fixes_give_exactly_the_expected_source(helpers: Path) -> None:
    result = run_migrate("--apply", "--no-cache", "--target", "torch==2.13", str(helpers))
    assert result.returncode in (0, 1), result.stderr
    assert helpers.read_text(encoding="utf-8") == _edited(HELPERS, HELPERS_FIXED_LINES)


def test_torch_target_decides_severity(helpers: Path) -> None:
    severity = {(str(f["code"]), str(f["severity"])) for f in _findings(helpers, "torch==2.2")}
    assert ("TORCH094", "warning") in severity  # check_sparse_nnz: deprecated 2.1, removed 2.3
    assert ("TORCH192", "warning") in severity  # torch.has_cuda: deprecated 2.1
    codes = {code for code, _ in severity}
    # traceable (2.3), set_vital (2.12) and as_nested_tensor(tensor_list=) (2.4) are not due yet.
    assert not codes & {"TORCH197", "TORCH196", "TORCH198"}


def test_scrapy_2_0_spider_uses_are_flagged_with_their_ids(spider: Path) -> None:
    assert _flagged(spider, "scrapy==2.19") == _expected_lines(SPIDER, SPIDER_FLAGGED)


def test_scrapy_2_0_spider_fixes_give_exactly_the_expected_source(spider: Path) -> None:
    result = run_migrate("--apply", "--no-cache", "--target", "scrapy==2.19", str(spider))
    assert result.returncode in (0, 1), result.stderr
    assert spider.read_text(encoding="utf-8") == _edited(SPIDER, SPIDER_FIXED_LINES)
    spider.write_text(SPIDER, encoding="utf-8")
    result = run_migrate("--apply", "--unsafe-fixes", "--no-cache", "--target", "scrapy==2.19", str(spider))
    assert result.returncode in (0, 1), result.stderr
    assert spider.read_text(encoding="utf-8") == _edited(SPIDER, {**SPIDER_FIXED_LINES, **SPIDER_UNSAFE_LINES})


def test_scrapy_target_decides_severity_for_the_older_entries(spider: Path) -> None:
    severity = {(str(f["code"]), str(f["severity"])) for f in _findings(spider, "scrapy==2.4")}
    # BaseItem and body_as_unicode: deprecated 2.2, removed 2.6; make_requests_from_url: 2.0 -> 2.6;
    # SgmlLinkExtractor: removed 2.3; scrapy.utils.markup: deprecated 2.0, removed 2.5.
    assert severity == {
        ("SCRAPY124", "warning"),
        ("SCRAPY123", "warning"),
        ("SCRAPY122", "warning"),
        ("SCRAPY127", "error"),
        ("SCRAPY138", "warning"),
    }


SHARDING = textwrap.dedent(
    """\
    import jax
    from jax.experimental.shard import reshard
    from jax.sharding import AxisTypes, PartitionSpec


    def place(x, mesh):
        with jax.sharding.use_mesh(mesh):
            return reshard(x, PartitionSpec("x")), AxisTypes.Explicit
    """
)


def test_jax_0_5_sharding_names_are_flagged_and_moved(tmp_path: Path) -> None:
    path = tmp_path / "place.py"
    path.write_text(SHARDING, encoding="utf-8")
    assert _flagged(path, "jax==0.10.2") == _expected_lines(
        SHARDING,
        {
            "from jax.experimental.shard import": {"JAX467"},
            "from jax.sharding import AxisTypes": {"JAX470"},
            "use_mesh(mesh)": {"JAX465"},
            "return reshard(": {"JAX467", "JAX470"},
        },
    )
    result = run_migrate("--apply", "--unsafe-fixes", "--no-cache", "--target", "jax==0.10.2", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert path.read_text(encoding="utf-8") == _edited(
        SHARDING,
        {
            "from jax.experimental.shard import reshard": None,
            "from jax.sharding import AxisTypes, PartitionSpec": (
                "from jax.sharding import AxisType, PartitionSpec, reshard"
            ),
            "    with jax.sharding.use_mesh(mesh):": "    with jax.set_mesh(mesh):",
            '        return reshard(x, PartitionSpec("x")), AxisTypes.Explicit': (
                '        return reshard(x, PartitionSpec("x")), AxisType.Explicit'
            ),
        },
    )
