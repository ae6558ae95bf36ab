"""One reader of answers: the reward scores exactly the code inference applies.

The completion below has a draft ```python block in its reasoning that differs from the code
in its ``<answer>``. Before the reader was shared, the reward scored the draft while the
editor applied the answer; both must now read the answer.
"""

from __future__ import annotations

from model_training.rewards import em_star_reward, es_star_reward, prediction
from recode_lsp.model_client import ModelClient
from recode_lsp.model_fix import propose
from recode_lsp.prompt import extract_code
from tests.models.conftest import server  # noqa: F401 - the scripted model server fixture (used by name)
from tests.models.openai_server import Reply, ScriptedServer
from tests.models.test_model_fix import KB, NEW_FUNCTION, OLD_FUNCTION, OPTIONS, SOURCE, first_finding

DRAFT = OLD_FUNCTION.replace("np.float_", "float")  # a wrong first try, in the reasoning
COMPLETION = (
    f" A first idea:\n```python\n{DRAFT}\n```\nNo: NumPy 2 has np.float64.</think>\n"
    f"<answer>\n```python\n{NEW_FUNCTION}\n```\n</answer>"
)


def test_the_reward_reads_the_answer_block() -> None:
    assert prediction(COMPLETION) == extract_code(COMPLETION) == NEW_FUNCTION + "\n"
    assert es_star_reward([COMPLETION], new_code=[NEW_FUNCTION]) == [2.0]
    assert em_star_reward([COMPLETION], new_code=[NEW_FUNCTION]) == [2.0]
    # The draft, were it the answer, would score less: the two readings are told apart.
    assert es_star_reward([COMPLETION], new_code=[DRAFT])[0] != 2.0


async def test_inference_applies_the_code_the_reward_scored(server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply(COMPLETION))
    client = ModelClient(server.url, "recode-test")
    try:
        result = await propose(SOURCE, first_finding(), KB, OPTIONS, client)
    finally:
        await client.aclose()
    assert result.ok, result.reason
    assert result.new_text == NEW_FUNCTION
    assert result.new_text.strip() == (prediction(COMPLETION) or "").strip()
    assert DRAFT not in (result.new_source or "")


def test_an_unclosed_answer_is_still_the_answer() -> None:
    # A completion cut at max tokens after the code block: both sides read the answer's block.
    cut = f" draft\n```python\n{DRAFT}\n```\n</think>\n<answer>\n```python\n{NEW_FUNCTION}\n```\n"
    assert prediction(cut) == extract_code(cut) == NEW_FUNCTION + "\n"


async def _answer(server: ScriptedServer, source: str, code: str, **kwargs: object):  # type: ignore[no-untyped-def]  # noqa: F811
    server.then(Reply(f" ok </think>\n<answer>\n```python\n{code}```\n</answer>"))
    client = ModelClient(server.url, "recode-test")
    try:
        return await propose(source, first_finding(source), KB, OPTIONS, client, **kwargs)  # type: ignore[arg-type]
    finally:
        await client.aclose()


async def test_an_answer_in_the_training_shape_is_spliced_without_its_imports(server: ScriptedServer) -> None:  # noqa: F811
    # Trained targets are imports + function; the imports the module has are not repeated.
    source = "import os\nimport numpy as np\n\n\n" + OLD_FUNCTION + "\n"
    result = await _answer(server, source, "import numpy as np\n\n" + NEW_FUNCTION + "\n")
    assert result.ok, result.reason
    assert result.new_source == source.replace(OLD_FUNCTION, NEW_FUNCTION)
    user = result.prompt_messages[1]["content"]
    assert "import numpy as np\n\ndef scale" in user and "import os" not in user  # only the imports it uses


async def test_a_reduced_import_counts_as_present(server: ScriptedServer) -> None:  # noqa: F811
    # The prompt shows ``import numpy as np`` cut from ``import os, numpy as np``; the answer echoing
    # it adds nothing to the module (the old statement-level comparison spliced it in again).
    source = "import os, numpy as np\n\n\n" + OLD_FUNCTION + "\n"
    result = await _answer(server, source, "import numpy as np\n\n" + NEW_FUNCTION + "\n")
    assert "```python\nimport numpy as np\n\ndef scale" in result.prompt_messages[1]["content"]
    assert result.ok, result.reason
    assert result.new_source == source.replace(OLD_FUNCTION, NEW_FUNCTION)


async def test_a_selection_keeps_its_own_imports(server: ScriptedServer) -> None:  # noqa: F811
    source = "import numpy as np\nx = np.float_(1)\n"
    result = await _answer(server, source, "import numpy as np\nx = np.float64(1)\n", selection=(0, len(source)))
    assert result.ok, result.reason
    assert result.new_source == "import numpy as np\nx = np.float64(1)\n"
