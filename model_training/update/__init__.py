"""The update loop (``recode-train update``): a new release of a library, end to end into the served model.

:mod:`~model_training.update.config` (the YAML configuration), :mod:`~model_training.update.steps`
(one function per step), :mod:`~model_training.update.run` (the resumable run folder and
``--watch``), :mod:`~model_training.update.report` (Markdown and JSON), :mod:`~model_training.update.cli`.
"""
