"""``recode-lsp``: start the language server (stdio by default, or TCP).

An editor starts a language server as a child process and talks JSON-RPC over its stdin and
stdout, so nothing else may be written to stdout: logs go to stderr (which editors show in
their output panel) or to ``--log-file``. ``--tcp HOST:PORT`` listens on a socket instead,
for debugging a server started by hand.

A message body larger than ``--max-message-bytes`` (or ``RECODE_LSP_MAX_MESSAGE_BYTES``; 64 MiB
by default, room for a 50 MB document) is rejected and skipped, never allocated.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from recode_lsp import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recode-lsp",
        description="Language server for ReCode: diagnostics, quick fixes and hover for outdated library APIs.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="server log level (default: WARNING)",
    )
    parser.add_argument(
        "--max-message-bytes",
        metavar="SIZE",
        help="reject messages larger than this: bytes, or a number with K, M or G"
        " (default: $RECODE_LSP_MAX_MESSAGE_BYTES, else 64M)",
    )
    parser.add_argument("--log-file", metavar="PATH", help="write the server log here instead of stderr")
    parser.add_argument("--version", action="version", version=f"recode-lsp {__version__}")
    return parser


def _address(text: str, parser: argparse.ArgumentParser) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        parser.error(f"--tcp wants HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def _tune_runtime() -> None:
    """Interpreter settings for a server that parses in worker threads while it answers.

    * The event loop waits for the GIL whenever a worker holds it; a 1 ms switch interval
      (default 5 ms) lets it answer between an analysis's steps.
    * The analyses of open documents keep many AST nodes alive, so a full garbage collection
      is expensive: objects that live from start-up are frozen out of it, and collections run
      less often (nothing here relies on the cycle collector for timely cleanup); the server
      runs them between requests (:mod:`.collect`).
    """
    from recode_lsp.server.collect import IDLE_THRESHOLDS

    sys.setswitchinterval(0.001)
    gc.freeze()
    gc.set_threshold(*IDLE_THRESHOLDS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    address = _address(args.tcp, parser) if args.tcp else None
    from recode_lsp.server.transport import max_message_bytes

    try:
        limit = max_message_bytes(args.max_message_bytes)
    except ValueError as error:
        parser.error(f"--max-message-bytes: {error}")
    handler: logging.Handler = (
        logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=args.log_level, handlers=[handler], force=True)

    _tune_runtime()
    from recode_lsp.server.server import create_server

    server = create_server(limit)
    server.collector.enable()
    if address is not None:
        return server.start_tcp(*address)
    return server.start_io()


if __name__ == "__main__":
    raise SystemExit(main())
