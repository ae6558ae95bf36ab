"""Weight sync to vLLM: the out-of-place merge leaves a bf16 base bit-identical; TRL's in-place one drifts.

No vLLM is needed: the sync's parameter iterator (``VLLMGeneration._iter_named_params``) is run
on a stand-in that has what it reads (the model, the distributed backend, the name fixer), on
the tiny random Qwen2 in bf16 with a LoRA (or DoRA) adapter whose weights change between syncs
as they would in training.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
vllm_generation = pytest.importorskip("trl.generation.vllm_generation")

from model_training.train import weight_sync  # noqa: E402

CYCLES = 200


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Small matrices: one thread is ~40x faster than contending for shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Dist:
    is_fsdp = False

    def gather_params(self, params: Any) -> nullcontext[None]:
        return nullcontext()


class _Generation:
    """What ``_iter_named_params`` reads from a ``VLLMGeneration``."""

    _fix_param_name_to_vllm = vllm_generation.VLLMGeneration._fix_param_name_to_vllm

    def __init__(self, model: Any) -> None:
        self.model = model
        self._dist = _Dist()


def peft_model(path: Path, use_dora: bool) -> Any:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16)
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "v_proj", "up_proj", "down_proj"],
        use_dora=use_dora,
        init_lora_weights=False,  # a non-zero adapter, as after some training
        task_type="CAUSAL_LM",
    )
    return get_peft_model(base, config)


def base_weights(model: Any) -> dict[str, Any]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" not in name}


def train_a_little(model: Any, generator: Any) -> None:
    """An optimizer step's worth of change to the adapter (the base is frozen)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.add_(torch.randn(param.shape, generator=generator).to(param.dtype) * 1e-3)


def run_syncs(model: Any, iterate: Any, cycles: int = CYCLES) -> None:
    generator = torch.Generator().manual_seed(1)
    generation = _Generation(model)
    for _ in range(cycles):
        train_a_little(model, generator)
        for _name, tensor in iterate(generation):
            tensor.float().sum()  # read it, as vLLM's load_weights would


def relative_drift(before: dict[str, Any], model: Any) -> float:
    after = base_weights(model)
    num = sum(float((after[n].float() - before[n].float()).norm() ** 2) for n in before)
    den = sum(float(before[n].float().norm() ** 2) for n in before)
    return (num / den) ** 0.5


@pytest.mark.parametrize("use_dora", [False, True], ids=["lora", "dora"])
def test_out_of_place_sync_keeps_the_base_bit_identical(tiny_qwen2: Path, use_dora: bool) -> None:
    model = peft_model(tiny_qwen2, use_dora)
    before = base_weights(model)
    run_syncs(model, weight_sync.merged_named_params)
    after = base_weights(model)
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert not any(m.merged for m in model.modules() if hasattr(m, "merged_adapters"))


@pytest.mark.parametrize("use_dora", [False, True], ids=["lora", "dora"])
def test_trl_in_place_sync_drifts_the_base(tiny_qwen2: Path, use_dora: bool) -> None:
    # The failure the out-of-place merge prevents: the same cycles through TRL's own iterator.
    model = peft_model(tiny_qwen2, use_dora)
    before = base_weights(model)
    run_syncs(model, vllm_generation.VLLMGeneration._iter_named_params)
    drift = relative_drift(before, model)
    assert drift > 1e-4, drift


@pytest.mark.parametrize("use_dora", [False, True], ids=["lora", "dora"])
def test_the_synced_weights_are_trls(tiny_qwen2: Path, use_dora: bool) -> None:
    # Same names, same order, same values as TRL's merge (compared before TRL's unmerge drifts).
    model = peft_model(tiny_qwen2, use_dora)
    ours = [(name, t.clone()) for name, t in weight_sync.merged_named_params(_Generation(model))]
    theirs = [(name, t.clone()) for name, t in vllm_generation.VLLMGeneration._iter_named_params(_Generation(model))]
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert all(".base_layer" not in n and "lora_" not in n for n, _ in ours)
    for (name, a), (_, b) in zip(ours, theirs, strict=True):
        assert torch.equal(a, b), name


def test_install_replaces_the_iterator_once(tiny_qwen2: Path) -> None:
    class Trainer:
        vllm_generation = _Generation(peft_model(tiny_qwen2, False))

    trainer = Trainer()
    assert weight_sync.install(trainer)
    assert trainer.vllm_generation._iter_named_params.__func__ is weight_sync.merged_named_params
    assert not weight_sync.install(trainer)  # already installed
    assert not weight_sync.install(object())  # no vLLM generation: nothing to do
