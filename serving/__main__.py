"""``python -m serving``: the ``recode-serve`` command."""

from serving.cli import main

raise SystemExit(main())
