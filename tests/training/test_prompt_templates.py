"""The paper's prompt, verbatim, as a template beside ours."""

from __future__ import annotations

import pytest

from model_training.data.recode_data import ReCodeRecord, to_prompt_record
from model_training.rewards import recode_reward
from model_training.train.config import ConfigError
from model_training.train.grpo import GRPORunConfig
from recode_lsp.prompt import PAPER_TEMPLATE, RECODE_TEMPLATE, TEMPLATES, build_messages, get_template

RECORD = ReCodeRecord("numpy", "==2.0.0", "", "float_ was removed.\n", "x = np.float_(1)\n", "x = np.float64(1)\n")


def paper_prompt(line: dict[str, str]) -> list[dict[str, str]]:
    """The authors' ``generate_prompt`` (github.com/zjunlp/ReCode, src/GRPO/data.py), re-typed."""
    return [
        {
            "role": "system",
            "content": "You are a helpful coding assistant. Your task is to transform the old version of the code "
            "into the new version specified, based on the update information. You first thinks about the "
            "reasoning process in the mind and then provides the solution.",
        },
        {
            "role": "user",
            "content": f"""
{line["dependency"]} performed an API update in version {line["new_version"][2:]}, and the update content includes:
<doc>
{line["update_info"]}
</doc>
The old version of the code is:
```python
{line["old_code"]}
```

Show your work in <think> </think> tags. And return the final code in <answer> </answer>, the code within <answer></answer> should be enclosed in ```python ``` tags.
""",  # noqa: E501 - the authors' line
        },
        {"role": "assistant", "content": "Let me solve this step by step.\n<think>"},
    ]


def test_the_paper_template_is_the_authors_prompt() -> None:
    line = RECORD.to_json()
    assert to_prompt_record(RECORD, "paper")["prompt"] == paper_prompt(line)
    assert build_messages("numpy", "==2.0.0", line["update_info"], line["old_code"], "paper") == paper_prompt(line)


def test_ours_stays_the_default_and_differs() -> None:
    assert get_template(None) is RECODE_TEMPLATE and set(TEMPLATES) == {"recode", "paper"}
    assert to_prompt_record(RECORD)["prompt"] == to_prompt_record(RECORD, "recode")["prompt"]
    assert to_prompt_record(RECORD)["prompt"] != to_prompt_record(RECORD, "paper")["prompt"]
    assert PAPER_TEMPLATE.assistant_prefix == RECODE_TEMPLATE.assistant_prefix  # the reward's prefill
    with pytest.raises(ValueError, match="unknown prompt template 'nope'"):
        get_template("nope")


def test_the_reward_reads_answers_in_the_paper_format() -> None:
    completion = " rename </think>\n<answer>\n```python\nx = np.float64(1)\n```\n</answer>"
    assert recode_reward([completion], new_code=[RECORD.new_code]) == [3.0]


def test_a_run_config_selects_the_template() -> None:
    config = GRPORunConfig()
    config.data.prompt_template = "paper"
    config.validate("run.yaml:")
    config.data.prompt_template = "nope"
    with pytest.raises(ConfigError, match="data.prompt_template"):
        config.validate("run.yaml:")
