"""Adapter operations on a running server: load, unload, promote, rollback.

They talk to vLLM on loopback (``/v1/load_lora_adapter``, ``/v1/unload_lora_adapter``, which
``start`` enabled with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING``), with the API key ``start`` gave
vLLM, and to the alias proxy's admin endpoints, and record the result in the state file. Why
promote is ordered as it is (load, check, switch, drain, unload) is explained in
:mod:`serving.proxy`: no request fails.

Adapters are named by their registry name (:mod:`serving.registry`) or by a name the server
already knows (given at ``start`` or loaded before, recorded in the state). A registry version
is checked against its manifest on every load and every promote (also when it is loaded
already); a name the registry holds is never looked up elsewhere, so a corrupt version is an
error, not a fallback to an unchecked folder.

Each promote is recorded in the registry (``.history.json``, per alias), not in the state, so
``rollback`` still knows the previous adapter after ``stop`` and ``start``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from serving.config import ADMIN_HEADER, ServeError
from serving.registry import AdapterRegistry, RegistryError
from serving.state import ServerState, StateStore

__all__ = ["AdapterControl", "PromoteResult"]


@dataclass(frozen=True)
class PromoteResult:
    """What a promote did, and how long each step took (seconds)."""

    alias: str
    new: str
    previous: str | None
    loaded: bool
    unloaded: bool
    load_s: float
    check_s: float
    drain_s: float
    total_s: float


def _same_model(a: str, b: str) -> bool:
    """A hub id and a local copy of it count as the same model (``Qwen/X`` and ``/models/X``)."""
    return a == b or Path(a.rstrip("/")).name == Path(b.rstrip("/")).name


class AdapterControl:
    """Adapter commands against the server recorded in ``store``."""

    def __init__(self, store: StateStore, registry: AdapterRegistry, timeout: float = 120.0) -> None:
        self.store = store
        self.registry = registry
        self.timeout = timeout

    # --- HTTP --------------------------------------------------------------------------

    def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return httpx.post(url, json=payload, headers=headers, timeout=self.timeout, trust_env=False)
        except httpx.HTTPError as exc:
            why = str(exc) or type(exc).__name__
            raise ServeError(f"cannot reach {url}: {why}; is the server running? (recode-serve status)") from None

    def _vllm(self, state: ServerState, path: str, payload: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {state.api_key}"} if state.api_key else None
        return self._post(state.vllm_url + path, payload, headers)

    def _admin(self, state: ServerState, path: str, payload: dict[str, Any]) -> httpx.Response:
        token = state.admin_token or self.store.admin_token()
        if not token:
            raise ServeError(f"no admin token for the alias proxy in {self.store.file} nor {self.store.token_file}")
        return self._post(state.url + path, payload, {ADMIN_HEADER: token})

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            data = response.json()
            inner = data.get("error", data) if isinstance(data, dict) else data
            return str(inner.get("message") if isinstance(inner, dict) else inner)
        except ValueError:
            return response.text.strip()[:300]

    # --- resolving names ---------------------------------------------------------------

    def adapter_path(self, state: ServerState, name: str, *, force: bool = False) -> str:
        """The folder of adapter ``name``: the registry's version (checked), else one the server knows.

        A name the registry holds is checked against its manifest and never looked up elsewhere:
        a corrupt or changed version is a :class:`ServeError`.
        """
        if name == state.alias:
            raise ServeError(f"{name!r} is the alias clients use, not an adapter")
        if name not in self.registry:
            if name in state.known:
                return state.known[name]
            known = sorted(set(self.registry.names()) | set(state.known))
            raise ServeError(
                f"unknown adapter {name!r}: not in the registry {self.registry.root} nor known to the server "
                f"(known: {', '.join(known) or 'none'}); add it with `recode-serve adapters add {name} PATH`"
            )
        try:
            version = self.registry.get(name)
            version.verify()
        except RegistryError as exc:
            raise ServeError(str(exc)) from None
        if not force and version.base_model and not _same_model(version.base_model, state.model):
            raise ServeError(
                f"adapter {name!r} was trained on {version.base_model}, but the server runs {state.model} "
                "(pass --force to load it anyway)"
            )
        return str(version.path)

    # --- commands ----------------------------------------------------------------------

    def load(self, name: str, *, force: bool = False) -> ServerState:
        with self.store.locked():
            state = self.store.require()
            self._load(state, name, force=force)
            self.store.save(state)
            return state

    def _load(self, state: ServerState, name: str, *, force: bool = False) -> bool:
        """Load ``name`` into vLLM unless it is loaded; True when this call loaded it."""
        if name in state.adapters:
            return False
        path = self.adapter_path(state, name, force=force)
        response = self._vllm(state, "/v1/load_lora_adapter", {"lora_name": name, "lora_path": path})
        if response.status_code != 200:
            message = self._message(response)
            if "already been loaded" not in message:
                raise ServeError(f"vLLM could not load adapter {name!r} from {path}: {message}")
        state.adapters[name] = path
        state.known[name] = path
        return True

    def unload(self, name: str) -> ServerState:
        with self.store.locked():
            state = self.store.require()
            if name not in state.adapters:
                loaded = ", ".join(state.adapters) or "none"
                raise ServeError(f"adapter {name!r} is not loaded (loaded: {loaded})")
            if state.current == name:
                raise ServeError(f"adapter {name!r} serves the alias {state.alias!r}; promote another one first")
            self._unload(state, name)
            self.store.save(state)
            return state

    def _unload(self, state: ServerState, name: str) -> None:
        response = self._vllm(state, "/v1/unload_lora_adapter", {"lora_name": name})
        if response.status_code not in (200, 404):
            raise ServeError(f"vLLM could not unload adapter {name!r}: {self._message(response)}")
        state.adapters.pop(name, None)

    def _check(self, state: ServerState, name: str) -> None:
        """One short generation on the new adapter before clients see it."""
        payload = {"model": name, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
        response = self._vllm(state, "/v1/chat/completions", payload)
        if response.status_code != 200:
            raise ServeError(f"adapter {name!r} does not answer: {self._message(response)}")

    def promote(self, name: str, *, drain_timeout: float = 300.0, force: bool = False) -> PromoteResult:
        """Serve ``name`` under the alias; the previous adapter is unloaded once its requests finished."""
        with self.store.locked():
            state = self.store.require()
            result = self._promote(state, name, drain_timeout=drain_timeout, force=force, remember=True)
            return result

    def rollback(self, *, drain_timeout: float = 300.0) -> PromoteResult:
        """Serve the adapter the alias served before the last promote (recorded in the registry)."""
        with self.store.locked():
            state = self.store.require()
            try:
                history = self.registry.history(state.alias)
                # A promotion whose previous adapter serves already (the server was started on it) undoes nothing.
                while history and (history[-1].previous or state.served_model_name) == state.alias_target:
                    self.registry.forget_promotion(state.alias, history.pop())
            except RegistryError as exc:
                raise ServeError(str(exc)) from None
            if not history:
                raise ServeError(
                    f"nothing to roll back to: no promote of {state.alias!r} is recorded in "
                    f"{self.registry.history_file}"
                )
            entry = history[-1]
            target = entry.previous if entry.previous is not None else state.served_model_name
            if entry.previous is not None and entry.previous not in self.registry and entry.path:
                state.known.setdefault(entry.previous, entry.path)  # an adapter given by path at an earlier start
            result = self._promote(state, target, drain_timeout=drain_timeout, force=True, remember=False)
            try:
                self.registry.forget_promotion(state.alias, entry)
            except RegistryError as exc:
                raise ServeError(f"{state.alias} now serves {target}, but {exc}") from None
            return result

    def _promote(
        self, state: ServerState, name: str, *, drain_timeout: float, force: bool, remember: bool
    ) -> PromoteResult:
        started = time.monotonic()
        is_base = name == state.served_model_name
        if not is_base and name == state.current:
            raise ServeError(f"adapter {name!r} already serves the alias {state.alias!r}")
        old_target = state.alias_target
        if not is_base and name in state.adapters:
            self.adapter_path(state, name, force=force)  # loaded before: its version is checked again now
        loaded = False if is_base else self._load(state, name, force=force)
        if loaded:
            self.store.save(state)
        load_s = time.monotonic() - started
        try:
            self._check(state, name)
        except ServeError:
            if loaded:
                self._unload(state, name)
                self.store.save(state)
            raise
        check_s = time.monotonic() - started - load_s
        response = self._admin(state, "/recode/alias", {"alias": state.alias, "target": name})
        if response.status_code != 200:
            raise ServeError(f"the alias proxy refused the switch: {self._message(response)}")
        previous, previous_path = state.current, state.known.get(state.current or "")
        state.current = None if is_base else name
        self.store.save(state)
        history_problem = None
        if remember:
            try:
                self.registry.record_promotion(state.alias, previous, previous_path, name)
            except RegistryError as exc:
                history_problem = str(exc)
        drain_started = time.monotonic()
        unloaded = False
        if old_target != name and old_target in state.adapters:
            response = self._admin(state, "/recode/drain", {"model": old_target, "timeout": drain_timeout})
            if response.status_code != 200:
                raise ServeError(
                    f"{state.alias} now serves {name}, but {old_target} was left loaded: {self._message(response)}; "
                    f"unload it later with `recode-serve adapters unload {old_target}`"
                )
            self._unload(state, old_target)
            unloaded = True
            self.store.save(state)
        drain_s = time.monotonic() - drain_started
        if history_problem is not None:
            raise ServeError(
                f"{state.alias} now serves {name}, but the rollback history was not written: {history_problem}"
            )
        return PromoteResult(
            state.alias,
            name,
            old_target,
            loaded,
            unloaded,
            round(load_s, 3),
            round(check_s, 3),
            round(drain_s, 3),
            round(time.monotonic() - started, 3),
        )
