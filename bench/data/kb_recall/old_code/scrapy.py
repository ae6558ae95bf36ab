# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Crawler utilities written against Scrapy 2.8 (benchmark input: kb_recall, target scrapy==2.11.2).

Every line that uses an API changed by 2.11.2 ends with ``# old-api: <change>``.
"""

from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.downloadermiddlewares import decompression
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exporters import PythonItemExporter
from scrapy.spidermiddlewares import offsite
from scrapy.squeues import PickleFifoDiskQueueNonRequest  # old-api: scrapy.squeues.PickleFifoDiskQueueNonRequest
from scrapy.utils.conf import build_component_list
from scrapy.utils.datatypes import CaselessDict
from scrapy.utils.iterators import xmliter
from scrapy.utils.reactor import get_asyncio_event_loop_policy
from scrapy.utils.reqser import request_from_dict, request_to_dict


def save_request(request, spider):
    return request_to_dict(request, spider=spider)  # old-api: scrapy.utils.reqser.request_to_dict


def load_request(data, spider):
    return request_from_dict(data, spider=spider)  # old-api: scrapy.utils.reqser.request_from_dict


def header_map(pairs):
    return CaselessDict(pairs)  # old-api: scrapy.utils.datatypes.CaselessDict


def products(response):
    for node in xmliter(response, "product"):  # old-api: scrapy.utils.iterators.xmliter
        yield node.xpath("name/text()").get()


def loop_policy():
    return get_asyncio_event_loop_policy()  # old-api: scrapy.utils.reactor.get_asyncio_event_loop_policy


def middlewares(settings):
    base = settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    return build_component_list(base, custom=settings.get("EXTRA_MIDDLEWARES"))  # old-api: scrapy.utils.conf.build_component_list(custom)


def to_python(item):
    exporter = PythonItemExporter(binary=False)  # old-api: scrapy.exporters.PythonItemExporter(binary)
    return exporter.export_item(item)


def spider_names(runner: CrawlerRunner):
    return runner.spiders.list()  # old-api: scrapy.crawler.CrawlerRunner.spiders


def reschedule(crawler: Crawler, request, spider):
    crawler.engine.schedule(request, spider)  # old-api: scrapy.core.engine.ExecutionEngine.schedule


class PatientRetry(RetryMiddleware):
    """Retry on the default exceptions plus timeouts from a proxy."""

    def __init__(self, settings):
        super().__init__(settings)
        self.exceptions = self.EXCEPTIONS_TO_RETRY + (TimeoutError,)  # old-api: scrapy.downloadermiddlewares.retry.RetryMiddleware.EXCEPTIONS_TO_RETRY


MIDDLEWARES = [
    decompression.DecompressionMiddleware,  # old-api: scrapy.downloadermiddlewares.decompression.DecompressionMiddleware
    offsite.OffsiteMiddleware,  # old-api: scrapy.spidermiddlewares.offsite.OffsiteMiddleware
]
QUEUES = [PickleFifoDiskQueueNonRequest]
