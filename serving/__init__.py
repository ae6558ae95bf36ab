"""Serving the ReCode model: vLLM with LoRA adapters, an alias proxy for hot swaps, an adapter registry.

Modules: :mod:`serving.config` (settings), :mod:`serving.launcher` (start/stop/status of vLLM and
the proxy), :mod:`serving.proxy` (the alias proxy), :mod:`serving.registry` (adapter versions),
:mod:`serving.control` (load/unload/promote/rollback), :mod:`serving.cli` (``recode-serve``).
Nothing here is imported by :mod:`recode_lsp`; torch is imported only to detect a GPU at start.
"""
