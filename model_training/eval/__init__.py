"""Execution-based evaluation (issue 18): a process sandbox, unbiased pass@k, the CODEMENV benchmark
run against ``unchanged`` (the old code as is) and ``rules`` (the engine's fixes alone).

Entry point: ``recode-train eval ...`` (:mod:`model_training.eval.cli`).
"""
