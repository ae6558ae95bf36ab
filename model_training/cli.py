"""``recode-train``: train a ReCode adapter with GRPO, DAPO or SFT, or merge one into its base model.

::

    recode-train grpo --config model_training/configs/grpo_qwen7b_1gpu.yaml [--set key=value]...
    recode-train dapo --config model_training/configs/dapo_qwen7b_1gpu.yaml --set data.train_file=...
    recode-train sft  --config model_training/configs/sft_qwen7b_1gpu.yaml
    recode-train grpo --config FILE --print-config      # the resolved configuration, then exit
    recode-train merge --adapter runs/grpo/adapter --out runs/grpo/merged
    recode-train data check data/built/ [--json] [--strict]  # mix, leaks, incomplete targets
    recode-train eval sandbox-run FILE [--timeout S]        # see model_training/eval/cli.py
    recode-train eval codemenv --codemenv DIR --out runs/eval/codemenv.jsonl
    recode-train update LIB --from OLD --to NEW [--config FILE] [--server URL]  # model_training/update/cli.py

Under ``accelerate launch`` use ``-m model_training`` (same arguments). ``--set`` takes dotted
keys (``trainer.max_steps=10``, ``peft.r=16``, ``model.name_or_path=/models/qwen``); values are
read as YAML. Exit status: 0 done, 2 configuration or usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from model_training.data.recode_data import ReCodeDataError
from model_training.train.config import ConfigError, load_run_config, to_dict

METHODS = ("grpo", "dapo", "sft")


def _config_class(method: str) -> type:
    if method == "grpo":
        from model_training.train.grpo import GRPORunConfig

        return GRPORunConfig
    if method == "dapo":
        from model_training.train.dapo import DAPORunConfig

        return DAPORunConfig
    from model_training.train.sft import SFTRunConfig

    return SFTRunConfig


def load_method_config(method: str, path: str | None, overrides: Sequence[str] = ()) -> Any:
    """The run configuration of ``method`` from a YAML file and ``--set`` overrides."""
    return load_run_config(_config_class(method), path, overrides)


def run_method(method: str, config: Any) -> str:
    """Train; returns the adapter folder."""
    if method == "grpo":
        from model_training.train.grpo import run_grpo

        return str(run_grpo(config))
    if method == "dapo":
        from model_training.train.dapo import run_dapo

        return str(run_dapo(config))
    from model_training.train.sft import run_sft

    return str(run_sft(config))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recode-train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for method in METHODS:
        p = sub.add_parser(method, help=f"train with {method.upper()}")
        p.add_argument("--config", help="YAML run configuration (defaults: the paper's settings)")
        p.add_argument(
            "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a key"
        )
        p.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    m = sub.add_parser("merge", help="fold an adapter into its base model (for servers without DoRA)")
    m.add_argument("--adapter", required=True, help="adapter folder (PEFT files + recode_adapter.json)")
    m.add_argument("--out", required=True, help="output folder for the merged model")
    m.add_argument("--base-model", help="base model (default: from recode_adapter.json)")
    m.add_argument("--dtype", default="bfloat16")
    from model_training.eval.cli import add_parser as add_eval_parser

    add_eval_parser(sub)
    from model_training.data.check import add_parser as add_data_parser

    add_data_parser(sub)
    from model_training.update.cli import add_parser as add_update_parser

    add_update_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "eval":
        from model_training.eval.cli import main as eval_main

        return eval_main(args)
    if args.command == "update":
        from model_training.update.cli import main as update_main

        return update_main(args)
    if args.command == "data":
        from model_training.data.check import main as data_main

        return data_main(args)
    if args.command == "merge":
        from model_training.train.merge import merge_adapter

        print(merge_adapter(args.adapter, args.out, args.base_model, args.dtype))
        return 0
    try:
        config = load_method_config(args.command, args.config, args.overrides)
    except ConfigError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(to_dict(config), indent=2, default=str))
        return 0
    try:
        print(run_method(args.command, config))
    except ReCodeDataError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    return 0
