"""A stand-in for vLLM's OpenAI server module, for the launcher, proxy and hardening tests (no model).

Run as ``python -m tests.serving.fake_vllm --model PATH --host H --port P [vLLM's other flags]``.

* ``--model`` not a folder: it fails as vLLM does with a bad model (a log line, then exit 1).
* Otherwise it serves over real HTTP what ``recode-serve`` uses of vLLM: ``/health``,
  ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``, ``/v1/load_lora_adapter`` and
  ``/v1/unload_lora_adapter`` (LoRA names and folders as vLLM checks them). Like vLLM's
  ``AuthenticationMiddleware``, every ``/v1`` path needs ``Authorization: Bearer KEY`` when
  ``--api-key`` or ``VLLM_API_KEY`` gives one (401 otherwise); ``/health`` does not. Any other
  path answers 200 ``{"reached": PATH}``, standing for vLLM's many other endpoints.

Every request is recorded (method, path as received, headers): in :attr:`FakeVllm.requests`,
and as JSON lines in ``$FAKE_VLLM_RECORD`` when that is set, so a test can tell what reached it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

RECORD_ENV = "FAKE_VLLM_RECORD"


@dataclass
class FakeVllm:
    """The fake server's state: its base model, keys, loaded adapters and the requests it saw."""

    model: str
    api_keys: tuple[str, ...] = ()
    adapters: dict[str, str] = field(default_factory=dict)
    record_file: Path | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_authenticate])
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._generate)
        app.router.add_post("/v1/completions", self._generate)
        app.router.add_post("/v1/load_lora_adapter", self._load)
        app.router.add_post("/v1/unload_lora_adapter", self._unload)
        app.router.add_route("*", "/{tail:.*}", self._anything)
        return app

    @web.middleware
    async def _record_and_authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        entry = {"method": request.method, "path": request.raw_path, "headers": dict(request.headers)}
        self.requests.append(entry)
        if self.record_file is not None:
            with self.record_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        if self.api_keys and request.path.startswith("/v1"):
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or key not in self.api_keys:
                return web.json_response({"error": "Unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="")

    async def _models(self, _request: web.Request) -> web.Response:
        cards = [{"id": self.model, "object": "model", "parent": None}]
        cards += [{"id": name, "object": "model", "parent": self.model} for name in self.adapters]
        return web.json_response({"object": "list", "data": cards})

    async def _generate(self, request: web.Request) -> web.Response:
        data = await request.json()
        model = data.get("model")
        if model != self.model and model not in self.adapters:
            return web.json_response({"error": {"message": f"The model `{model}` does not exist."}}, status=404)
        choice = {"index": 0, "message": {"role": "assistant", "content": f"answer from {model}"}}
        return web.json_response({"object": "chat.completion", "model": model, "choices": [choice]})

    async def _load(self, request: web.Request) -> web.Response:
        data = await request.json()
        name, path = str(data["lora_name"]), str(data["lora_path"])
        if name in self.adapters:
            message = f"The lora adapter '{name}' has already been loaded."
            return web.json_response({"error": {"message": message}}, status=400)
        if not (Path(path) / "adapter_config.json").is_file():
            return web.json_response({"error": {"message": f"no adapter at {path}"}}, status=404)
        self.adapters[name] = path
        return web.Response(text=f"Success: LoRA adapter '{name}' added successfully.")

    async def _unload(self, request: web.Request) -> web.Response:
        name = str((await request.json())["lora_name"])
        if self.adapters.pop(name, None) is None:
            return web.json_response({"error": {"message": f"The lora adapter '{name}' cannot be found."}}, status=404)
        return web.Response(text=f"Success: LoRA adapter '{name}' removed successfully.")

    async def _anything(self, request: web.Request) -> web.Response:
        return web.json_response({"reached": request.raw_path})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default=None)
    parser.add_argument("--lora-modules", action="append", default=[])
    parser.add_argument("--api-key", action="append", default=None)
    args, _vllm_flags = parser.parse_known_args(argv)
    print("INFO starting the fake vLLM", flush=True)
    if not Path(args.model).is_dir():
        print(f"ERROR no model at {args.model}: OSError: not a folder", flush=True)
        return 1
    keys = tuple(key for key in (args.api_key or [os.environ.get("VLLM_API_KEY", "")]) if key)
    adapters = dict(module.split("=", 1) for module in args.lora_modules)
    record = os.environ.get(RECORD_ENV)
    fake = FakeVllm(args.served_model_name or args.model, keys, adapters, Path(record) if record else None)
    web.run_app(fake.app(), host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
