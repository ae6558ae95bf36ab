"""Loader for ReCode-format training files (JSONL), and the prompt rows the trainers take.

The published ReCode training set (``zjunlp/ReCode-Train-Data`` on the model hub, file
``recode-train-data.jsonl``, 1,786 entries) has one JSON object per line with the string
fields ``dependency``, ``new_version`` (``"==2.2.0"``), ``description``, ``update_info``,
``old_code`` and ``new_code``. The files :mod:`model_training.data.build` writes have the same
fields plus ``change_id`` and ``provenance``; any extra field is kept in
:attr:`ReCodeRecord.extra`.

:func:`to_prompt_record` turns a record into the row GRPO/DAPO/SFT consume: ``prompt`` (the
shared :func:`recode_lsp.prompt.build_messages` conversation, assistant turn prefilled) and
the columns the rewards read (``new_code``, ``old_code``) plus ``library`` and ``change_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode_lsp.prompt import build_messages

#: The fields of a ReCode entry, in the published order.
FIELDS = ("dependency", "new_version", "description", "update_info", "old_code", "new_code")
#: Fields that may not be empty (a record without them cannot become a prompt and a target).
NON_EMPTY = ("dependency", "new_version", "old_code", "new_code")

HUB_HINT = (
    "the ReCode training set is on the model hub as zjunlp/ReCode-Train-Data "
    "(file recode-train-data.jsonl), which this machine cannot reach; download it elsewhere and pass its path"
)


class ReCodeDataError(ValueError):
    """A ReCode-format file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class ReCodeRecord:
    """One entry of a ReCode-format training file."""

    #: The library that changed (``numpy``, ``pandas``; ``python`` for the standard library).
    dependency: str
    #: Version the update happened in, as the published data writes it (``"==2.2.0"``).
    new_version: str
    #: One-line description of the update.
    description: str
    #: Update information shown to the model (notes, new API doc).
    update_info: str
    #: Code written against the old API.
    old_code: str
    #: The same code migrated (the target).
    new_code: str
    #: Any other field of the line (``change_id``, ``provenance`` in files we build).
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def change_id(self) -> str | None:
        """Knowledge-base id of the change, when the file records it."""
        value = self.extra.get("change_id")
        if value is None and isinstance(self.extra.get("provenance"), dict):
            value = self.extra["provenance"].get("change_id")
        return value if isinstance(value, str) and value else None

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON object (the published fields first, then the extra ones)."""
        return {**{name: getattr(self, name) for name in FIELDS}, **self.extra}


def parse_record(data: object, where: str) -> ReCodeRecord:
    """Validate one decoded JSON line and build its record.

    Args:
        data: The decoded JSON value.
        where: ``file:line``, used in error messages.

    Returns:
        The record.

    Raises:
        ReCodeDataError: A field is missing, not a string, or empty where it may not be.

    >>> parse_record({"dependency": "numpy", "new_version": "==2.0", "description": "", "update_info": "",
    ...               "old_code": "a", "new_code": "b"}, "x.jsonl:1").dependency
    'numpy'
    """
    if not isinstance(data, dict):
        raise ReCodeDataError(f"{where}: expected a JSON object, got {type(data).__name__}")
    missing = [name for name in FIELDS if name not in data]
    if missing:
        raise ReCodeDataError(f"{where}: missing field(s) {', '.join(missing)}")
    for name in FIELDS:
        value = data[name]
        if not isinstance(value, str):
            raise ReCodeDataError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
        if name in NON_EMPTY and not value.strip():
            raise ReCodeDataError(f"{where}: field {name!r} is empty")
    extra = {key: value for key, value in data.items() if key not in FIELDS}
    return ReCodeRecord(**{name: data[name] for name in FIELDS}, extra=extra)


def load_recode_jsonl(path: str | Path) -> list[ReCodeRecord]:
    """Read and validate a ReCode-format JSONL file.

    Blank lines are skipped; every other line must be a JSON object with the six string
    fields (see :data:`FIELDS`).

    Args:
        path: The file, e.g. a local copy of ``recode-train-data.jsonl``.

    Returns:
        The records, in file order.

    Raises:
        ReCodeDataError: The file does not exist or cannot be read (the message says where
            the published set is), or a line is malformed (the message names file and line).
    """
    path = Path(path)
    if not path.exists():
        raise ReCodeDataError(f"{path}: no such file; {HUB_HINT}")
    if path.is_dir():
        candidate = path / "recode-train-data.jsonl"
        if not candidate.is_file():
            raise ReCodeDataError(f"{path}: is a folder without recode-train-data.jsonl; {HUB_HINT}")
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReCodeDataError(f"{path}: cannot read: {exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReCodeDataError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        records.append(parse_record(data, where))
    return records


def write_recode_jsonl(records: list[ReCodeRecord], path: str | Path) -> None:
    """Write records as ReCode-format JSONL (UTF-8, one object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")


def to_prompt_record(record: ReCodeRecord, template: str | None = None) -> dict[str, Any]:
    """The training row for one record.

    Args:
        record: A loaded record.
        template: The prompt wording (:data:`recode_lsp.prompt.TEMPLATES`: ``recode``, ours and
            the default, or ``paper``, the ReCode paper's verbatim); None: the default.

    Returns:
        ``{"prompt": [system, user, assistant prefill], "new_code", "old_code", "library",
        "version", "change_id"}``; ``change_id`` is None when the file does not record it.

    >>> row = to_prompt_record(ReCodeRecord("numpy", "==2.0", "", "use float64", "np.float_", "np.float64"))
    >>> [m["role"] for m in row["prompt"]], row["new_code"], row["library"]
    (['system', 'user', 'assistant'], 'np.float64', 'numpy')
    """
    return {
        "prompt": build_messages(record.dependency, record.new_version, record.update_info, record.old_code, template),
        "new_code": record.new_code,
        "old_code": record.old_code,
        "library": record.dependency,
        "version": record.new_version,
        "change_id": record.change_id,
    }
