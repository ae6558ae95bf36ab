"""Too-new APIs (issue 19): names and keywords the code uses that the targeted release lacks.

See docs/too-new.md: :mod:`.inventory` (a release, read once and cached), :mod:`.check` (the check),
:mod:`.run` (setting it up for a CLI run), :mod:`.lsp` (the language server).
"""
