"""A stand-in for vLLM's server module that fails as vLLM does with a bad model: a log, then exit 1."""

import sys

print("INFO starting the fake vLLM", flush=True)
print(f"ERROR no model at {sys.argv[sys.argv.index('--model') + 1]}: OSError: not a folder", flush=True)
raise SystemExit(1)
