"""``recode-kb``: learn API changes from a library's releases and curate them into overlays.

The scraper (:mod:`recode_lsp.kb.scrape`) reads two or more releases statically with griffe and
the :mod:`ast` module (never importing them), and emits knowledge-base entries in the schema of
``docs/knowledge-base.md``; a person reviews them (:mod:`recode_lsp.kb.review`) into an overlay
that ``[tool.recode] extra-changes`` points to. Nothing here imports torch or vLLM.
"""
