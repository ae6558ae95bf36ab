"""``LAUNCHER -m model_training.update.train_worker RUN``: the update loop's training step in child processes.

``train.launcher`` (e.g. ``accelerate launch --config_file model_training/configs/accelerate/zero3_8gpu.yaml``)
starts one process per GPU; each rebuilds the run's context from ``RUN/run.json`` and the steps
done before, and trains (:func:`model_training.update.steps.train_here`); the main process writes
``05-train/result.json``, which the loop reads back. Nothing else of the loop runs in these processes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from model_training.update.config import STEPS, config_from_dict
from model_training.update.run import RunFolder
from model_training.update.steps import RunContext, train_here


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m model_training.update.train_worker RUN", file=sys.stderr)
        return 2
    folder = RunFolder(Path(args[0]))
    record = folder.load()
    ctx = RunContext(
        root=folder.root.resolve(),
        library=record["library"],
        old=record["old"],
        new=record["new"],
        config=config_from_dict(record["config"]),
        adapter_name=record["adapter_name"],
    )
    for step in STEPS[: STEPS.index("train")]:
        if folder.is_done(step):
            ctx.done[step] = folder.done_data(step)
    train_here(ctx)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
