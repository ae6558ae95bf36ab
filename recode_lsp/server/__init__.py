"""``recode-lsp``: the ReCode language server (pygls 2).

One module per LSP concern; the engine (:mod:`recode_lsp.engine`) does the work and knows
nothing of LSP:

* :mod:`.server` -- the server object, its state and what the client supports;
* :mod:`.settings` -- ``workspace/configuration`` merged over ``[tool.recode]``;
* :mod:`.documents` -- text synchronisation and analyses per document version;
* :mod:`.diagnostics` -- pull (``textDocument/diagnostic``) or push (``publishDiagnostics``);
* :mod:`.code_actions` -- quick fixes, fix-all, ignore, the model-fix hook;
* :mod:`.hover` -- what changed, and the target version's docs;
* :mod:`.guard` -- a failing handler logs and answers nothing; the server keeps running;
* :mod:`.transport` -- stdio framing that resynchronises after bad input, a message-size cap,
  and a JSON-RPC error for every request that cannot be served;
* :mod:`.main` -- the ``recode-lsp`` command.
"""

from recode_lsp.server.server import RecodeLanguageServer, create_server

__all__ = ["RecodeLanguageServer", "create_server"]
