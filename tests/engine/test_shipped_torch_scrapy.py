"""The shipped PyTorch and Scrapy knowledge base (issue 12), through the real ``recode-migrate``.

A training script written against torch 1.12 and a spider project written against Scrapy 2.6 are
checked against the current releases: every old use is flagged with its entry's id, the mechanical
fixes rewrite the files to exactly the expected source, display-only entries are never rewritten,
and the target version decides what is reported (an error once removed, a warning while deprecated,
nothing before the deprecation).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

TRAIN = textwrap.dedent(
    '''\
    """Training script written against PyTorch 1.12."""

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch._six import inf
    from torch.distributions import Normal
    from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR
    from torch.utils.data import ConcatDataset, DataLoader, TensorDataset

    torch.set_default_tensor_type(torch.DoubleTensor)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.utils.weight_norm(nn.Linear(16, 4))
            self.act = nn.Hardtanh(min_value=-2.0, max_value=2.0)

        def forward(self, x):
            x = F.upsample(x, scale_factor=2)
            return self.act(self.fc(x))


    def make_loader():
        parts = [TensorDataset(torch.randn(8, 16), torch.randint(0, 4, (8,))) for _ in range(2)]
        data = ConcatDataset(parts)
        print("sizes", data.cummulative_sizes)
        return DataLoader(data, batch_size=4)


    def train(model, loader, epochs=3):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = StepLR(optimizer, step_size=1, verbose=True)
        plateau = ReduceLROnPlateau(optimizer, "min", verbose=True)
        scaler = torch.cuda.amp.GradScaler()
        criterion = nn.CrossEntropyLoss(size_average=False)
        losses = []
        for _ in range(epochs):
            for xb, yb in loader:
                with torch.cuda.amp.autocast():
                    loss = criterion(model(xb), yb) + F.nll_loss(model(xb), yb, reduce=True)
                scaler.scale(loss).backward()
                torch.nn.utils.clip_grad_norm(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                losses.append(loss.item())
            scheduler.step()
            plateau.step(loss)
        print("cached", torch.cuda.memory_cached(), "best", min(losses, default=inf))
        torch.save(model.state_dict(), "model.pt")


    def analyse(model):
        a = torch.randn(4, 4)
        spd = a @ a.T + torch.eye(4)
        evals, evecs = torch.symeig(spd, eigenvectors=True)
        chol = torch.cholesky(spd)
        q, r = torch.qr(a)
        lu, pivots = torch.lu(a)
        outer = torch.ger(a[0], a[1])
        weight = nn.Parameter(torch.ones(4))
        gram = weight.ger(weight)
        w = a.symeig()
        steps = torch.range(0, 10)
        noise = Normal(torch.zeros(4), torch.ones(4)).sample_n(16)
        torch.testing.assert_allclose(chol @ chol.T, spd)
        raw = a.storage()
        product = torch.chain_matmul(a, a, a)
        state = torch.load("model.pt")
        scripted = torch.jit.script(model)
        quantized = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        return evals, evecs, q, r, lu, pivots, outer, gram, w, steps, noise, raw, product, state, scripted, quantized
    '''
)
# A unique piece of each flagged line -> the ids reported on it (targets torch==2.13).
TRAIN_FLAGGED = {
    "from torch._six import inf": {"TORCH023"},
    "set_default_tensor_type": {"TORCH019"},
    "nn.utils.weight_norm": {"TORCH034"},
    "nn.Hardtanh(": {"TORCH038", "TORCH039"},
    "F.upsample": {"TORCH031"},
    "cummulative_sizes": {"TORCH089"},
    "StepLR(optimizer": {"TORCH077"},
    "ReduceLROnPlateau(optimizer": {"TORCH085"},
    "amp.GradScaler()": {"TORCH026"},
    "size_average=False": {"TORCH047"},
    "amp.autocast()": {"TORCH025"},
    "reduce=True": {"TORCH066"},
    "clip_grad_norm(": {"TORCH035"},
    "memory_cached()": {"TORCH107", "TORCH023"},
    "torch.symeig(": {"TORCH005"},
    "torch.cholesky(": {"TORCH010"},
    "torch.qr(": {"TORCH011"},
    "torch.lu(": {"TORCH012"},
    "torch.ger(": {"TORCH016"},
    "weight.ger(": {"TORCH017"},
    "a.symeig()": {"TORCH009"},
    "torch.range(": {"TORCH018"},
    "sample_n(16)": {"TORCH091"},
    "assert_allclose(": {"TORCH102"},
    "a.storage()": {"TORCH020"},
    "chain_matmul(": {"TORCH015"},
    "torch.load(": {"TORCH021"},
    "torch.jit.script(": {"TORCH121"},
    "quantize_dynamic(": {"TORCH141"},
}
# Whole lines rewritten by the safe fixes (None: the line is dropped).
TRAIN_FIXED_LINES: dict[str, str | None] = {
    "from torch._six import inf": None,
    "from torch.utils.data import ConcatDataset, DataLoader, TensorDataset": (
        "from torch.utils.data import ConcatDataset, DataLoader, TensorDataset\nfrom math import inf"
    ),
    "        self.act = nn.Hardtanh(min_value=-2.0, max_value=2.0)": (
        "        self.act = nn.Hardtanh(min_val=-2.0, max_val=2.0)"
    ),
    "        x = F.upsample(x, scale_factor=2)": "        x = F.interpolate(x, scale_factor=2)",
    '    print("sizes", data.cummulative_sizes)': '    print("sizes", data.cumulative_sizes)',
    "    scaler = torch.cuda.amp.GradScaler()": '    scaler = torch.amp.GradScaler("cuda")',
    "            with torch.cuda.amp.autocast():": '            with torch.amp.autocast("cuda"):',
    "            torch.nn.utils.clip_grad_norm(model.parameters(), 1.0)": (
        "            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)"
    ),
    '    print("cached", torch.cuda.memory_cached(), "best", min(losses, default=inf))': (
        '    print("cached", torch.cuda.memory_reserved(), "best", min(losses, default=inf))'
    ),
    "    chol = torch.cholesky(spd)": "    chol = torch.linalg.cholesky(spd)",
    "    q, r = torch.qr(a)": "    q, r = torch.linalg.qr(a)",
    "    lu, pivots = torch.lu(a)": "    lu, pivots = torch.linalg.lu_factor(a)",
    "    outer = torch.ger(a[0], a[1])": "    outer = torch.outer(a[0], a[1])",
    "    gram = weight.ger(weight)": "    gram = weight.outer(weight)",
    "    noise = Normal(torch.zeros(4), torch.ones(4)).sample_n(16)": (
        "    noise = Normal(torch.zeros(4), torch.ones(4)).sample((16,))"
    ),
}
# Rewritten only with --unsafe-fixes (behaviour may differ; the entries' notes say how).
TRAIN_UNSAFE_LINES: dict[str, str | None] = {
    "from torch.utils.data import ConcatDataset, DataLoader, TensorDataset": (
        "from torch.utils.data import ConcatDataset, DataLoader, TensorDataset\nfrom math import inf\n"
        "from torch.nn.utils.parametrizations import weight_norm"
    ),
    "        self.fc = nn.utils.weight_norm(nn.Linear(16, 4))": "        self.fc = weight_norm(nn.Linear(16, 4))",
    "    torch.testing.assert_allclose(chol @ chol.T, spd)": "    torch.testing.assert_close(chol @ chol.T, spd)",
    "    raw = a.storage()": "    raw = a.untyped_storage()",
}

SPIDER = textwrap.dedent(
    '''\
    """A spider written against Scrapy 2.6."""

    import scrapy
    from scrapy import signals
    from scrapy.http import FormRequest
    from scrapy.loader import ItemLoader
    from scrapy.loader.processors import MapCompose, TakeFirst
    from scrapy.mail import MailSender
    from scrapy.spiders import CrawlSpider
    from scrapy.utils.python import to_native_str
    from scrapy.utils.request import request_fingerprint
    from scrapy.utils.url import canonicalize_url, url_query_parameter


    class QuoteLoader(ItemLoader):
        default_input_processor = MapCompose(str.strip)
        default_output_processor = TakeFirst()


    class QuotesSpider(scrapy.Spider):
        name = "quotes"
        start_urls = ["https://quotes.toscrape.com/login"]

        @classmethod
        def from_crawler(cls, crawler, *args, **kwargs):
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.item_done, signal=signals.item_passed)
            spider.mailer = MailSender.from_settings(crawler.settings)
            return spider

        def login(self, response):
            self.log("logging in")
            return FormRequest.from_response(response, formdata={"username": "u"}, callback=self.parse)

        def parse(self, response):
            page = url_query_parameter(response.url, "page", "1")
            for quote in response.css("div.quote"):
                loader = QuoteLoader(selector=quote)
                loader.add_css("text", "span.text::text")
                item = loader.load_item()
                item["key"] = request_fingerprint(response.request)
                item["url"] = canonicalize_url(response.url)
                item["page"] = to_native_str(page)
                yield item

        def item_done(self, item):
            self.log("done")


    class FollowSpider(CrawlSpider):
        name = "follow"

        def parse_start_url(self, response):
            return self._parse_response(response, self.parse_item, {}, True)

        def parse_item(self, response):
            return {"url": response.url}
    '''
)
RUN = textwrap.dedent(
    """\
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.log import configure_logging
    from scrapy.utils.project import get_project_settings

    configure_logging(install_root_handler=False)
    process = CrawlerProcess(get_project_settings(), install_root_handler=False)
    for name in process.spiders.list():
        process.crawl(name)
    process.start()
    """
)
SPIDER_FLAGGED = {
    "from scrapy.loader.processors import": {"SCRAPY074", "SCRAPY076"},
    "from scrapy.mail import MailSender": {"SCRAPY090"},
    "import to_native_str": {"SCRAPY014"},
    "import request_fingerprint": {"SCRAPY009"},
    "import canonicalize_url, url_query_parameter": {"SCRAPY054", "SCRAPY062"},
    "= MapCompose(": {"SCRAPY074"},
    "= TakeFirst(": {"SCRAPY076"},
    "signals.item_passed": {"SCRAPY111"},
    "MailSender.from_settings(": {"SCRAPY086", "SCRAPY090"},
    'self.log("logging in")': {"SCRAPY002"},
    "FormRequest.from_response(": {"SCRAPY007"},
    "page = url_query_parameter(": {"SCRAPY062"},
    "= request_fingerprint(response.request)": {"SCRAPY009"},
    "= canonicalize_url(response.url)": {"SCRAPY054"},
    "= to_native_str(page)": {"SCRAPY014"},
    'self.log("done")': {"SCRAPY002"},
    "self._parse_response(": {"SCRAPY003"},
}
RUN_FLAGGED = {
    "configure_logging(install_root_handler": {"SCRAPY047"},
    "CrawlerProcess(get_project_settings()": {"SCRAPY048"},
    "process.spiders.list()": {"SCRAPY113"},
}
SPIDER_FIXED_LINES: dict[str, str | None] = {
    "from scrapy.loader.processors import MapCompose, TakeFirst": None,
    "from scrapy.utils.python import to_native_str": "from scrapy.utils.python import to_unicode",
    "from scrapy.utils.url import canonicalize_url, url_query_parameter": (
        "from itemloaders.processors import MapCompose, TakeFirst\n"
        "from w3lib.url import canonicalize_url, url_query_parameter"
    ),
    "        crawler.signals.connect(spider.item_done, signal=signals.item_passed)": (
        "        crawler.signals.connect(spider.item_done, signal=signals.item_scraped)"
    ),
    '        self.log("logging in")': '        self.logger.debug("logging in")',
    '            item["page"] = to_native_str(page)': '            item["page"] = to_unicode(page)',
    '        self.log("done")': '        self.logger.debug("done")',
    "        return self._parse_response(response, self.parse_item, {}, True)": (
        "        return self.parse_with_rules(response, self.parse_item, {}, True)"
    ),
}
RUN_FIXED_LINES: dict[str, str | None] = {
    "for name in process.spiders.list():": "for name in process.spider_loader.list():"
}


def _edited(source: str, lines: Mapping[str, str | None]) -> str:
    """``source`` with whole lines replaced (each must occur exactly once) or dropped (None)."""
    result = []
    for line in source.splitlines():
        if line in lines:
            replacement = lines[line]
            if replacement is not None:
                result.append(replacement)
        else:
            result.append(line)
    for line in lines:
        assert source.splitlines().count(line) == 1, line
    return "\n".join(result) + "\n"


def _flagged(path: Path, *targets: str) -> dict[int, set[str]]:
    args = [arg for target in targets for arg in ("--target", target)]
    result = run_migrate("--check", "--no-cache", "--format", "json", *args, str(path))
    assert result.returncode == 1, result.stderr
    found: dict[int, set[str]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        found.setdefault(finding["location"]["line"], set()).add(finding["code"])
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
def training_script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(TRAIN, encoding="utf-8")
    return path


@pytest.fixture
def spider_project(tmp_path: Path) -> Path:
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    (tmp_path / "run.py").write_text(RUN, encoding="utf-8")
    return tmp_path


def test_torch_and_scrapy_ship_reviewed_entries_with_evidence() -> None:
    kb = load_knowledge_base()
    for library, prefix in (("torch", "TORCH"), ("scrapy", "SCRAPY")):
        changes = [c for c in kb.changes if c.library == library]
        assert len(changes) >= 100, library
        for change in changes:
            assert change.id.startswith(prefix), change.id
            # Every entry names the file and line it was checked against.
            assert re.search(rf"\b{library}/[\w/]+\.pyi?:\d+", change.source), (change.id, change.source)


def test_training_script_uses_are_flagged_with_their_ids(training_script: Path) -> None:
    assert _flagged(training_script, "torch==2.13") == _expected_lines(TRAIN, TRAIN_FLAGGED)


def test_training_script_safe_fixes_give_exactly_the_expected_source(training_script: Path) -> None:
    result = run_migrate("--apply", "--no-cache", "--target", "torch==2.13", str(training_script))
    assert result.returncode in (0, 1), result.stderr
    assert training_script.read_text(encoding="utf-8") == _edited(TRAIN, TRAIN_FIXED_LINES)


def test_training_script_unsafe_fixes_need_the_flag(training_script: Path) -> None:
    result = run_migrate("--apply", "--unsafe-fixes", "--no-cache", "--target", "torch==2.13", str(training_script))
    assert result.returncode in (0, 1), result.stderr
    expected = _edited(TRAIN, {**TRAIN_FIXED_LINES, **TRAIN_UNSAFE_LINES})
    assert training_script.read_text(encoding="utf-8") == expected


def test_torch_target_decides_severity(training_script: Path) -> None:
    args = ["--check", "--no-cache", "--format", "json", "--target", "torch==2.0", str(training_script)]
    findings = json.loads(run_migrate(*args).stdout)["findings"]
    severity = {(f["code"], f["severity"]) for f in findings}
    assert ("TORCH005", "error") in severity  # torch.symeig: removed in 2.0
    assert ("TORCH010", "warning") in severity  # torch.cholesky: deprecated only
    codes = {f["code"] for f in findings}
    # Deprecated after 2.0 (amp 2.4, scheduler verbose 2.2, torch.load 2.6, jit 2.10): not reported yet.
    assert not codes & {"TORCH025", "TORCH026", "TORCH077", "TORCH021", "TORCH121"}


def test_spider_project_uses_are_flagged_with_their_ids(spider_project: Path) -> None:
    assert _flagged(spider_project / "spider.py", "scrapy==2.19") == _expected_lines(SPIDER, SPIDER_FLAGGED)
    assert _flagged(spider_project / "run.py", "scrapy==2.19") == _expected_lines(RUN, RUN_FLAGGED)


def test_spider_project_safe_fixes_give_exactly_the_expected_source(spider_project: Path) -> None:
    result = run_migrate("--apply", "--no-cache", "--target", "scrapy==2.19", str(spider_project))
    assert result.returncode in (0, 1), result.stderr
    assert (spider_project / "spider.py").read_text(encoding="utf-8") == _edited(SPIDER, SPIDER_FIXED_LINES)
    assert (spider_project / "run.py").read_text(encoding="utf-8") == _edited(RUN, RUN_FIXED_LINES)


def test_scrapy_target_decides_severity(spider_project: Path) -> None:
    args = ["--check", "--no-cache", "--format", "json", "--target", "scrapy==2.10", str(spider_project / "spider.py")]
    severity = {(f["code"], f["severity"]) for f in json.loads(run_migrate(*args).stdout)["findings"]}
    # to_native_str was removed in 2.8; request_fingerprint only deprecated (2.7) until 2.12;
    # Spider.log (2.18), w3lib re-exports (2.13) and from_response (2.17) are not deprecated yet.
    assert severity == {
        ("SCRAPY014", "error"),
        ("SCRAPY009", "warning"),
        ("SCRAPY074", "warning"),
        ("SCRAPY076", "warning"),
    }
