"""Weight sync to vLLM without touching the base weights: merge the adapter out of place.

TRL 1.16 pushes a PEFT model's weights to vLLM by merging the adapter into the base weights
in place, reading them, and unmerging (``VLLMGeneration._iter_named_params``: ``merge_adapter()``
then ``unmerge_adapter()``). With a bf16 base, ``W + d - d`` is not ``W`` after rounding, so
every sync moves the frozen base a little: in a CPU test 200 syncs drifted a LoRA base by 2.9%
(relative Frobenius norm), and a 5,000-step run syncs at every step.

:func:`merged_named_params` yields the same tensors under the same names, but each adapter
layer is merged (PEFT's own merge) into a *copy* of its base weights, one layer at a time; the
base tensors are never written. :func:`install` puts it in
place of TRL's method on a trainer's ``vllm_generation``. FSDP keeps TRL's path (its parameters
are gathered per module; an out-of-place merge there is not implemented): a warning says so.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)

#: Set on a ``VLLMGeneration`` once :func:`install` replaced its parameter iterator.
INSTALLED_FLAG = "_recode_out_of_place_sync"


@contextmanager
def merged_copy(layer: Any) -> Iterator[dict[str, torch.Tensor]]:
    """The merged parameters of one PEFT tuner layer's base layer, computed into copies.

    Inside the block the base layer's parameters point at copies into which PEFT merged the
    adapter (its usual merge, so the values are bit for bit those of TRL's in-place merge); on
    exit they point back at the original tensors, which were never written, and the layer is
    marked unmerged again.

    Yields:
        Parameter name in the base layer (``weight``, ``bias``) -> merged tensor.
    """
    base = layer.get_base_layer()
    originals = {name: param.data for name, param in base.named_parameters(recurse=False)}
    merged_before = list(layer.merged_adapters)
    cache_before = set(getattr(layer, "_caches", {}))
    try:
        for param in base.parameters(recurse=False):
            param.data = param.data.clone()
        layer.merge()
        yield {name: param.data for name, param in base.named_parameters(recurse=False)}
    finally:
        for name, param in base.named_parameters(recurse=False):
            param.data = originals[name]
        layer.merged_adapters[:] = merged_before
        caches = getattr(layer, "_caches", None)
        if caches is not None:  # DoRA stores its weight norm at merge time for the unmerge
            for key in set(caches) - cache_before:
                caches.pop(key, None)


def _vllm_name(generation: Any, name: str, model: nn.Module) -> str | None:
    """TRL's renaming of a PEFT parameter for vLLM, or None for a parameter vLLM does not have."""
    name = name.removeprefix("base_model.model.").replace(".base_layer", "")
    if model.prefix in name:  # type: ignore[operator]  # the adapter's own weights
        return None
    if "original_module" in name:
        return None
    return str(generation._fix_param_name_to_vllm(name, extra_prefixes=["modules_to_save.default."]))


def merged_named_params(generation: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """``VLLMGeneration._iter_named_params`` for a PEFT model, with the adapter merged out of place.

    Same names, order and values as TRL's in-place merge (under DeepSpeed ZeRO-3 the whole model
    is gathered first, as TRL does); one layer's merged copy lives at a time.
    """
    from peft.tuners.tuners_utils import BaseTunerLayer

    model = generation.model
    owner: dict[int, tuple[Any, str]] = {}
    for module in model.modules():
        if isinstance(module, BaseTunerLayer) and hasattr(module, "get_base_layer"):
            for pname, param in module.get_base_layer().named_parameters(recurse=False):
                owner[id(param)] = (module, pname)
    with generation._dist.gather_params(list(model.parameters())):
        for name, param in model.named_parameters():
            vllm_name = _vllm_name(generation, name, model)
            if vllm_name is None:
                continue
            found = owner.get(id(param))
            if found is None:
                yield vllm_name, param.data
                continue
            layer, pname = found
            with merged_copy(layer) as merged:
                yield vllm_name, merged[pname]


def install(trainer: Any) -> bool:
    """Make ``trainer``'s weight sync to vLLM merge out of place; False when there is nothing to replace.

    Only a PEFT model synced without FSDP is switched; the full-model path copies nothing
    and cannot drift, and FSDP keeps TRL's in-place merge (with a warning).
    """
    generation = getattr(trainer, "vllm_generation", None)
    if generation is None or getattr(generation, INSTALLED_FLAG, False):
        return False
    from accelerate.utils import is_peft_model

    if not is_peft_model(getattr(generation, "model", None)):
        return False
    if generation._dist.is_fsdp:
        logger.warning("FSDP: the weight sync to vLLM keeps TRL's in-place adapter merge (bf16 base drift possible)")
        return False
    generation._iter_named_params = types.MethodType(merged_named_params, generation)
    setattr(generation, INSTALLED_FLAG, True)
    return True
