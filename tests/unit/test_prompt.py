"""The shared prompt format and answer extraction."""

from recode_lsp.prompt import (
    ASSISTANT_PREFIX,
    build_messages,
    clean_version,
    extract_answer,
    extract_code,
    extract_code_block,
    full_completion,
)


def test_messages_have_the_recode_shape() -> None:
    system, user, assistant = build_messages(
        "numpy", "==2.0.0", "float_ was removed; use float64.", "x = np.float_(1)\n"
    )
    assert system["role"] == "system" and "old version of the code into the new version" in system["content"]
    assert user["content"].startswith(
        "numpy performed an API update in version 2.0.0, and the update content includes:"
    )
    assert "<doc>\nfloat_ was removed; use float64.\n</doc>" in user["content"]
    assert "The old version of the code is:\n```python\nx = np.float_(1)\n```" in user["content"]
    assert "<think> </think>" in user["content"] and "<answer> </answer>" in user["content"]
    assert assistant == {"role": "assistant", "content": "Let me solve this step by step.\n<think>"}


def test_clean_version() -> None:
    assert clean_version("==2.2.0") == "2.2.0"
    assert clean_version(">=1.5") == "1.5"
    assert clean_version("3.12") == "3.12"


def test_extraction() -> None:
    completion = " think hard </think>\n<answer>\n```python\nx = np.float64(1)\n```\n</answer>"
    assert full_completion(completion) == ASSISTANT_PREFIX + completion
    assert extract_answer(completion) == "\n```python\nx = np.float64(1)\n```\n"
    assert extract_code(completion) == "x = np.float64(1)\n"
    assert extract_code("no answer tags\n```python\ny = 2\n```") == "y = 2\n"
    assert extract_code("nothing here") is None
    assert extract_code_block("```python\na\n```\n```python\nb\n```") == "a\n"
