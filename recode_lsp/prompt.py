"""The one prompt format of ReCode, shared by training, evaluation and inference.

The served model must see exactly what it was trained on, so every caller builds its
messages here and reads answers back with the same functions the reward uses.

A conversation is three messages: a system text that asks for a migration with the
reasoning first; a user turn that gives the update information and the old code; and the
assistant turn *prefilled* with :data:`ASSISTANT_PREFIX`, which the model continues (the
chat template must not close it: ``continue_final_message=True`` in transformers, or a
raw completion of the rendered text).
"""

from __future__ import annotations

import re

SYSTEM_PROMPT = (
    "You are an expert Python developer who keeps code up to date with the libraries it uses. "
    "You are given the update information of a library API and a piece of code written against the "
    "old version. Transform the old version of the code into the new version based on the update "
    "information. Reason about the change first, step by step, and only then write the final code."
)

ASSISTANT_PREFIX = "Let me solve this step by step.\n<think>"

_USER_TEMPLATE = (
    "{library} performed an API update in version {version}, and the update content includes:\n"
    "<doc>\n{update_info}\n</doc>\n"
    "The old version of the code is:\n"
    "```python\n{old_code}\n```\n"
    "Show your work in <think> </think> tags, and return the final code in <answer> </answer> tags, "
    "inside a ```python code block, for example:\n"
    "<think> reasoning </think>\n<answer>\n```python\n# the new version of the code\n```\n</answer>"
)

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_PYTHON_BLOCK = re.compile(r"```python[ \t]*\n(.*?)```", re.DOTALL)


def clean_version(version: str) -> str:
    """``"==2.2.0"`` (the ReCode data's ``new_version``) -> ``"2.2.0"``."""
    return version.strip().lstrip("=<>!~ ").strip()


def user_message(library: str, version: str, update_info: str, old_code: str) -> str:
    return _USER_TEMPLATE.format(
        library=library,
        version=clean_version(version),
        update_info=update_info.strip(),
        old_code=old_code.strip("\n"),
    )


def build_messages(library: str, version: str, update_info: str, old_code: str) -> list[dict[str, str]]:
    """System, user and the prefilled assistant turn (the model continues the last one)."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_message(library, version, update_info, old_code)},
        {"role": "assistant", "content": ASSISTANT_PREFIX},
    ]


def full_completion(completion: str) -> str:
    """The assistant's whole turn: the prefix the model was given plus what it wrote."""
    return completion if completion.startswith(ASSISTANT_PREFIX) else ASSISTANT_PREFIX + completion


def extract_answer(completion: str) -> str | None:
    """Text inside the first ``<answer>...</answer>``, or None."""
    match = _ANSWER.search(completion)
    return match.group(1) if match else None


def extract_code_block(text: str) -> str | None:
    """Content of the first ```python block, or None."""
    match = _PYTHON_BLOCK.search(text)
    return match.group(1) if match else None


def extract_code(completion: str) -> str | None:
    """The migrated code: the python block inside ``<answer>``, else the first python block."""
    answer = extract_answer(completion)
    if answer is not None:
        code = extract_code_block(answer)
        if code is not None:
            return code
    return extract_code_block(completion)
