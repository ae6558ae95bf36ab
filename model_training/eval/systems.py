"""Systems under test: what each does to a task's old program before it is run.

- ``unchanged``: the old program as is (the floor);
- ``rules``: the engine's safe fixes alone (detect + fix + validate, as ``recode-migrate --apply``
  with ``--target LIB==VER``), no model; ``rules-unsafe`` also applies the fixes marked unsafe
  (``--unsafe-fixes``); ``rules-too-new`` adds the too-new check's backward fixes (``--too-new``:
  ``np.trapezoid`` -> ``np.trapz`` when the target predates it, :mod:`recode_lsp.toonew`);
- ``model``: the model (an OpenAI-compatible endpoint, or ``local:PATH`` for local transformers,
  :mod:`model_training.eval.local_model`) alone writes the migration: the training prompt
  (:func:`recode_lsp.prompt.build_messages`) with the task's update and old code, the answer read with
  :func:`recode_lsp.prompt.extract_code` (the reward's reader) and put in place of the code it was
  asked about; not validated (what the model can do on its own);
- ``rules+model``: what ``recode-migrate --model URL --apply --unsafe-fixes`` does: the rules first,
  then the model on each finding no rule fixes, keeping only answers that pass the validator
  (:func:`recode_lsp.cli.model_fixes.propose_for_text`).

Deterministic systems give one sample per task; the model systems give ``samples``, each asked with
the seed :func:`sample_seed` of its task and number (a resumed run asks the same questions; tasks do
not share seeds, so their samples' noise is not correlated).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from model_training.eval.codemenv import Task
from recode_lsp.model_client import ModelClient, ModelError, ModelUnavailable

if TYPE_CHECKING:
    from recode_lsp.engine.knowledge import KnowledgeBase


@dataclass(frozen=True)
class Migrated:
    """The program a system produced (``None``: none, the sample fails without running), and how many
    fixes it applied (``None``: not a rule system)."""

    program: str | None
    fixes: int | None = None
    error: str | None = None
    #: The model could not be used (down, timing out, circuit open): the sample is redone on rerun.
    outage: bool = False
    #: Model systems: what the model did (``asked``/``accepted``/``rejected``, ``answer`` head).
    model: dict[str, Any] = field(default_factory=dict)


#: A system migrates one task; the int is the sample number (ignored by deterministic systems).
System = Callable[[Task, int], Migrated]
SYSTEMS = ("unchanged", "rules", "rules-unsafe", "rules-too-new", "model", "rules+model")
MODEL_SYSTEMS = frozenset({"model", "rules+model"})
ANSWER_HEAD = 2000  # characters of the model's answer kept in the results
#: ``--model local:PATH``: local transformers instead of a server.
LOCAL_PREFIX = "local:"


@dataclass(frozen=True)
class ModelConfig:
    """Where the model is served and how it is sampled (all recorded with every result)."""

    endpoint: str
    name: str = "recode"
    timeout: float = 120.0
    retries: int = 2
    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    template: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model": self.name,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "template": self.template or "recode",
        }


class SamplingClient(ModelClient):
    """The project's model client (retries, total timeout, circuit breaker) with this run's sampling:
    ``temperature``, ``top_p`` and a per-sample ``seed`` go into every request, whoever makes it (the
    CLI's model fixes ask with temperature 0)."""

    def __init__(self, config: ModelConfig) -> None:
        # Three outages in a row open the circuit: one slow answer must not fail a whole run.
        super().__init__(
            config.endpoint, config.name, timeout=config.timeout, retries=config.retries, failure_threshold=3
        )
        self.config = config
        self.seed: int | None = None
        #: Outages seen (connection refused, timeouts, 502-504 after the retries): such a sample is redone.
        self.outages = 0

    def _outage(self, reason: str) -> None:
        self.outages += 1
        super()._outage(reason)

    def _payload(self, messages: Sequence[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        payload = super()._payload(messages, max_tokens, self.config.temperature)
        payload["top_p"] = self.config.top_p
        if self.seed is not None and self.config.temperature > 0:
            payload["seed"] = self.seed
        return payload


def sample_seed(task_id: str, sample: int) -> int:
    """The sampling seed of one sample: stable across runs and machines, distinct across tasks."""
    return zlib.crc32(f"{task_id}#{sample}".encode()) & 0x7FFFFFFF


def unchanged(task: Task, sample: int = 0) -> Migrated:
    return Migrated(task.program)


def target_of(task: Task) -> tuple[str, str]:
    """The ``--target`` of a task: ``python==VER`` for the standard library, ``LIB==VER`` otherwise."""
    return ("python" if task.is_stdlib else task.package, task.target_version)


def _options(task: Task) -> Any:
    from recode_lsp.engine import DetectOptions
    from recode_lsp.engine.versions import Version

    library, version = target_of(task)
    # Host tasks (HumanEval) have no target: the engine's defaults, as a plain `recode-migrate`.
    targets: dict[str, Version | None] = {} if task.environment == "host" else {library: Version(version)}
    return DetectOptions(targets=targets)


def too_new_findings(task: Task, analysis: Any, options: Any, kb: KnowledgeBase) -> list[Any]:
    """The too-new check's findings of a task's program against its target (``--too-new``): the
    targeted release read once per process (and cached on disk), as ``recode-migrate`` reads it."""
    from recode_lsp.engine.versions import Version
    from recode_lsp.toonew.run import prepare

    if task.environment == "host":
        return []
    library, version = target_of(task)
    check = prepare({library: Version(version)}, kb, data=[task.program.encode("utf-8", "surrogatepass")])
    return list(check.findings(analysis, options, "<task>"))


def rules_system(kb: KnowledgeBase | None = None, *, unsafe: bool = False, too_new: bool = False) -> System:
    """The engine's fixes on the whole program (its driver code uses no changed API, so only the
    function's calls change); ``too_new``: with the too-new check's findings and backward fixes."""
    from recode_lsp.engine import analyse, detect, fix_and_validate, load_knowledge_base

    knowledge = kb if kb is not None else load_knowledge_base()

    def run(task: Task, sample: int = 0) -> Migrated:
        try:
            options = _options(task)
            analysis = analyse(task.program)
            findings = detect(task.program, knowledge, options, analysis=analysis)
            if too_new:
                extra = too_new_findings(task, analysis, options, knowledge)
                findings = sorted([*findings, *extra], key=lambda finding: finding.sort_key())
            outcome = fix_and_validate(analysis, findings, knowledge, options, unsafe=unsafe)
        except Exception as exc:  # noqa: BLE001 - a crash of the engine is that task's rules failure
            return Migrated(task.program, 0, f"{type(exc).__name__}: {exc}")
        return Migrated(outcome.source, len(outcome.applied))

    return run


class _Clients(threading.local):
    """One client per worker thread: a client's connection pool belongs to one event loop."""

    client: SamplingClient | None = None


def _client_factory(config: ModelConfig) -> Callable[[], SamplingClient]:
    """Clients for ``config``: HTTP (:class:`SamplingClient`), or local transformers for ``local:PATH``."""
    local = _Clients()
    if config.endpoint.startswith(LOCAL_PREFIX):
        from model_training.eval.local_model import LocalClient, LocalModel

        loaded: list[LocalModel] = []
        load_lock = threading.Lock()

        def get_local() -> SamplingClient:
            if local.client is None:
                with load_lock:  # one model for all threads
                    if not loaded:
                        loaded.append(LocalModel(config.endpoint[len(LOCAL_PREFIX) :]))
                local.client = LocalClient(loaded[0], config.temperature, config.top_p)  # type: ignore[assignment]
            assert local.client is not None
            return local.client

        return get_local

    def get() -> SamplingClient:
        if local.client is None:
            local.client = SamplingClient(config)
        return local.client

    return get


def splice(task: Task, code: str) -> str:
    """The program with the model's answer in place of the code it was asked about."""
    code = code.strip("\n")
    if task.model_source and task.model_source in task.program:
        return task.program.replace(task.model_source, code, 1)
    return code + "\n"


def model_system(config: ModelConfig) -> System:
    """The model alone: one request per sample; a request that fails is an error of that sample."""
    from recode_lsp.prompt import build_messages, extract_code

    client_of = _client_factory(config)

    def run(task: Task, sample: int = 0) -> Migrated:
        library, version = target_of(task)
        old = task.model_source or task.program
        messages = build_messages(
            "python" if task.environment == "host" else library, version or "3", task.update, old, config.template
        )
        client = client_of()
        client.seed = sample_seed(task.task_id, sample)
        before = client.outages
        try:
            raw = client.complete_sync(messages, max_tokens=config.max_tokens, temperature=config.temperature)
        except ModelError as exc:
            outage = isinstance(exc, ModelUnavailable) or client.outages > before
            return Migrated(None, error=str(exc), outage=outage)
        info = {"asked": 1, "answer": raw[:ANSWER_HEAD]}
        code = extract_code(raw)
        if code is None or not code.strip():
            # No migration: a failure, even where the old code would still pass.
            return Migrated(None, error="the model's answer has no code", model=info)
        return Migrated(splice(task, code), model=info)

    return run


def rules_model_system(config: ModelConfig, kb: KnowledgeBase | None = None) -> System:
    """Rules first, then the model on what no rule fixes, only validated answers kept (the CLI's way)."""
    from recode_lsp.cli.model_fixes import ModelRun, ModelSettings, propose_for_text
    from recode_lsp.cli.runner import RunSettings
    from recode_lsp.engine import load_knowledge_base

    knowledge = kb if kb is not None else load_knowledge_base()
    rules = rules_system(knowledge, unsafe=False)
    settings_of_model = ModelSettings(config.endpoint, config.name, config.timeout, config.max_tokens)
    client_of = _client_factory(config)

    def run(task: Task, sample: int = 0) -> Migrated:
        ruled = rules(task, sample)
        if ruled.error or ruled.program is None:
            return ruled
        client = client_of()
        client.seed = sample_seed(task.task_id, sample)
        before = client.outages
        # "diff" with unsafe fixes: model fixes are unsafe by nature and written only with --unsafe-fixes.
        settings = RunSettings(mode="diff", unsafe=True, options=_options(task))
        model_run = ModelRun()
        try:
            proposed = propose_for_text(
                "<task>", ruled.program, knowledge, settings, settings_of_model, client, None, model_run
            )
        except Exception as exc:  # noqa: BLE001 - a crash there is this sample's failure, not the run's
            return Migrated(ruled.program, ruled.fixes, f"{type(exc).__name__}: {exc}")
        program = proposed[0] if proposed is not None else ruled.program
        info: dict[str, Any] = {
            "asked": model_run.asked,
            "accepted": model_run.accepted,
            "rejected": model_run.rejected,
        }
        if proposed is not None and proposed[2]:
            info["reasons"] = [reason for _, reason in proposed[2]][:5]
        outage = model_run.outage is not None or client.outages > before
        reasons = info.get("reasons") or [None]
        error = model_run.outage or (reasons[0] if outage else None)
        return Migrated(program, ruled.fixes, error, outage=outage, model=info)

    return run


def make_system(name: str, model: ModelConfig | None = None) -> System:
    if name == "unchanged":
        return unchanged
    if name == "rules":
        return rules_system()
    if name == "rules-unsafe":
        return rules_system(unsafe=True)
    if name == "rules-too-new":
        return rules_system(too_new=True)
    if name in MODEL_SYSTEMS:
        if model is None:
            raise ValueError(f"system {name!r} needs a model: pass --model URL")
        return model_system(model) if name == "model" else rules_model_system(model)
    raise ValueError(f"unknown system {name!r} (choose from {', '.join(SYSTEMS)})")
