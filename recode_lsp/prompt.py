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
from dataclasses import dataclass

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


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt wording: system text, user template (``str.format`` fields) and assistant prefill.

    The user template's fields are ``library``, ``version`` (cleaned, see :func:`clean_version`),
    ``update_info`` and ``old_code``. Every template asks for the same answer format, so the one
    reader (:func:`extract_code`) and the rewards work for all of them.
    """

    name: str
    system: str
    user: str
    assistant_prefix: str
    #: Whether ``update_info`` and ``old_code`` are inserted as given (the paper) or stripped (ours).
    strip_fields: bool = True


#: Our wording (the default): asks for the answer format with an example.
RECODE_TEMPLATE = PromptTemplate("recode", SYSTEM_PROMPT, _USER_TEMPLATE, ASSISTANT_PREFIX)

#: The ReCode paper's prompt (arXiv 2506.20495), verbatim from the authors' code, to reproduce
#: the paper: ``generate_prompt`` in ``src/GRPO/data.py`` of github.com/zjunlp/ReCode (commit
#: ce7a521a), identical to ``src/DAPO/data_process.py``. Its grammar ("You first thinks") and its
#: leading and trailing line breaks are the authors'; the version is ``new_version[2:]`` there,
#: i.e. ``==2.0`` -> ``2.0``, which :func:`clean_version` gives too.
PAPER_TEMPLATE = PromptTemplate(
    "paper",
    "You are a helpful coding assistant. Your task is to transform the old version of the code into the new "
    "version specified, based on the update information. You first thinks about the reasoning process in the "
    "mind and then provides the solution.",
    "\n{library} performed an API update in version {version}, and the update content includes:\n"
    "<doc>\n{update_info}\n</doc>\n"
    "The old version of the code is:\n"
    "```python\n{old_code}\n```\n"
    "\n"
    "Show your work in <think> </think> tags. And return the final code in <answer> </answer>, the code "
    "within <answer></answer> should be enclosed in ```python ``` tags.\n",
    "Let me solve this step by step.\n<think>",
    strip_fields=False,
)

#: Template name -> template, for configs (``data.prompt_template``) and the CLI.
TEMPLATES: dict[str, PromptTemplate] = {t.name: t for t in (RECODE_TEMPLATE, PAPER_TEMPLATE)}
DEFAULT_TEMPLATE = RECODE_TEMPLATE.name


def get_template(name: str | PromptTemplate | None = None) -> PromptTemplate:
    """The template called ``name`` (None: the default); a :class:`PromptTemplate` is returned as is."""
    if isinstance(name, PromptTemplate):
        return name
    try:
        return TEMPLATES[name or DEFAULT_TEMPLATE]
    except KeyError:
        raise ValueError(f"unknown prompt template {name!r}: use one of {', '.join(TEMPLATES)}") from None


# The answer block; an ``<answer>`` left open (a completion cut at max tokens) runs to the end.
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL)
_PYTHON_BLOCK = re.compile(r"```python[ \t]*\n(.*?)```", re.DOTALL)


def clean_version(version: str) -> str:
    """``"==2.2.0"`` (the ReCode data's ``new_version``) -> ``"2.2.0"``."""
    return version.strip().lstrip("=<>!~ ").strip()


def user_message(
    library: str, version: str, update_info: str, old_code: str, template: str | PromptTemplate | None = None
) -> str:
    chosen = get_template(template)
    return chosen.user.format(
        library=library,
        version=clean_version(version),
        update_info=update_info.strip() if chosen.strip_fields else update_info,
        old_code=old_code.strip("\n") if chosen.strip_fields else old_code,
    )


def build_messages(
    library: str, version: str, update_info: str, old_code: str, template: str | PromptTemplate | None = None
) -> list[dict[str, str]]:
    """System, user and the prefilled assistant turn (the model continues the last one)."""
    chosen = get_template(template)
    return [
        {"role": "system", "content": chosen.system},
        {"role": "user", "content": user_message(library, version, update_info, old_code, chosen)},
        {"role": "assistant", "content": chosen.assistant_prefix},
    ]


def full_completion(completion: str) -> str:
    """The assistant's whole turn: the prefix the model was given plus what it wrote."""
    return completion if completion.startswith(ASSISTANT_PREFIX) else ASSISTANT_PREFIX + completion


def extract_answer(completion: str) -> str | None:
    """Text inside the first ``<answer>...</answer>`` (to the end when it is not closed), or None."""
    match = _ANSWER.search(completion)
    return match.group(1) if match else None


def extract_code_block(text: str) -> str | None:
    """Content of the first ```python block, or None."""
    match = _PYTHON_BLOCK.search(text)
    return match.group(1) if match else None


def extract_code(completion: str) -> str | None:
    """The migrated code: THE reader of answers, for the reward, the evaluation and inference.

    With an ``<answer>`` block, the first ```python block *inside it* (none: None; a block
    elsewhere, e.g. a draft in the reasoning, is never read). Without any ``<answer>`` tag, the
    first ```python block of the completion (the format reward already penalises the missing
    tags in training). Training and serving must read the same code, so nothing else may
    extract answers: ``model_training.rewards`` and ``recode_lsp.model_fix`` both call this.
    """
    answer = extract_answer(completion)
    if answer is not None:
        return extract_code_block(answer)
    return extract_code_block(completion)
