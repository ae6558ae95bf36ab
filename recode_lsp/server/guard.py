"""Keep the server alive when a handler fails.

In LSP a request gets exactly one response, and a notification none; an exception that
escapes a handler would otherwise reach the client as an internal error for that request (or
nowhere, for a notification) and leave the server in whatever state the handler left it.
:func:`guarded` wraps every feature handler: an exception is logged in the server's log and
sent to the client as a ``window/logMessage`` error, and the handler answers its empty value
(``None``, ``[]``, the unresolved code action...). Cancellation is not an error: it passes
through (as does work the server itself stopped), so pygls answers ``RequestCancelled``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from recode_lsp.engine.document import Cancelled

if TYPE_CHECKING:
    from recode_lsp.server.server import RecodeLanguageServer

logger = logging.getLogger("recode_lsp.server")

Handler = Callable[["RecodeLanguageServer", Any], Awaitable[Any]]


def report_error(ls: RecodeLanguageServer, where: str, error: BaseException) -> None:
    """Log ``error`` here and in the client's log (never raises)."""
    logger.error("%s failed", where, exc_info=error)
    try:
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__, limit=8))
        message = f"recode-lsp: {where} failed: {error!r}\n{trace}"
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=message))
    except Exception:  # the transport itself may be gone
        logger.exception("could not send the error to the client")


def guarded(default: Callable[[Any], Any]) -> Callable[[Handler], Handler]:
    """Wrap an async handler ``(ls, params)``: on an exception, log it and answer ``default(params)``."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(ls: RecodeLanguageServer, params: Any) -> Any:
            try:
                return await handler(ls, params)
            except asyncio.CancelledError:
                raise
            except Cancelled:
                # Work this request waited for was stopped (the server is shutting down):
                # answer as a cancelled request, not as an error.
                raise asyncio.CancelledError() from None
            except Exception as error:  # noqa: BLE001 - the point of the guard
                report_error(ls, handler.__name__, error)
                return default(params)

        return wrapper

    return decorate


def nothing(_: Any) -> None:
    """The empty answer of most handlers."""


def empty_list(_: Any) -> list[Any]:
    return []
