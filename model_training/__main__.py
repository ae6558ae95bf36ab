"""``python -m model_training`` is ``recode-train``."""

from model_training.cli import main

raise SystemExit(main())
