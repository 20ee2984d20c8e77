"""A small, real OpenAI-compatible chat-completions server on 127.0.0.1 that replays a script.

Tests and benchmarks point the real ``openai`` client (or ``spatialclaw ask --base-url``) at it:

    >>> from spatialclaw.models.base import Message
    >>> from spatialclaw.models.openai_compat import OpenAICompatClient
    >>> with ScriptedVLM(["```python\\nanswer(3)\\n```"]) as vlm:
    ...     client = OpenAICompatClient(vlm.model, base_url=vlm.base_url)
    ...     client.complete([Message("user", ["how many?"])]).text
    '```python\\nanswer(3)\\n```'

The script is a list whose items are consumed one per chat request: a reply string, a
``Reply`` (text with a delay), a ``Fail`` (an HTTP error to inject: 429 with ``Retry-After``,
401, 500, ...), or a function ``f(request: ChatRequest) -> str | Reply | Fail`` that decides from
what was sent. A single function instead of a list answers every request. Every request, the
failed ones included, is recorded in ``requests``.

Like ``transformers serve`` (platform-notes), the server is strict by default: a ``stop`` field
is a plain-text HTTP 500, an unknown top-level field a 422, and a model name that is not exactly
the served one a 404, so clients that send them fail here as they would there.

Token usage is a stand-in: ``prompt_tokens`` counts whitespace-separated words of the text parts
plus ``IMAGE_TOKENS`` per image; ``completion_tokens`` counts the reply's words.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

IMAGE_TOKENS = 64
KNOWN_FIELDS = frozenset(
    {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stream"}
)


@dataclass
class Reply:
    """A scripted reply: ``text``, sent after ``delay_s`` seconds (to exercise client timeouts)."""

    text: str
    delay_s: float = 0.0
    finish_reason: str = "stop"


@dataclass
class Fail:
    """An injected HTTP failure.

    Attributes:
        status: HTTP status code (429, 401, 404, 500, 503, ...).
        message: the error message in the OpenAI error body.
        retry_after: seconds for a ``Retry-After`` header, or None for no header.
        plain_text: send the message as ``text/plain`` instead of an OpenAI error object.
        close: drop the keep-alive connection after answering (as ``transformers serve`` does after a 500).
    """

    status: int
    message: str = "scripted failure"
    retry_after: float | None = None
    plain_text: bool = False
    close: bool = False


@dataclass
class ChatRequest:
    """One recorded ``POST .../chat/completions``."""

    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    size_bytes: int
    time: float = field(default_factory=time.time)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def texts(self, role: str | None = None) -> list[str]:
        """Every text part, in order (only of ``role`` when given)."""
        out: list[str] = []
        for msg in self.messages:
            if role is not None and msg.get("role") != role:
                continue
            out.extend(_texts_of(msg))
        return out

    def last_user_text(self) -> str:
        """The text of the last user message."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return "\n".join(_texts_of(msg))
        return ""

    def image_urls(self, message_index: int | None = None) -> list[str]:
        """The ``image_url`` URLs of every message (or of message ``message_index``)."""
        msgs = self.messages if message_index is None else [self.messages[message_index]]
        urls: list[str] = []
        for msg in msgs:
            content = msg.get("content")
            if isinstance(content, list):
                urls.extend(p["image_url"]["url"] for p in content if p.get("type") == "image_url")
        return urls

    def images(self, message_index: int | None = None) -> list[bytes]:
        """The decoded bytes of every data-URL image (or of message ``message_index``)."""
        return [base64.b64decode(u.split(",", 1)[1]) for u in self.image_urls(message_index) if u.startswith("data:")]


def _texts_of(msg: dict[str, Any]) -> list[str]:
    content = msg.get("content")
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p.get("text", "") for p in content if p.get("type") == "text"]
    return []


ScriptItem = Union[str, Reply, Fail, Callable[[ChatRequest], Union[str, Reply, Fail]]]


class ScriptedVLM:
    """The server. Use as a context manager (or ``start()`` / ``stop()``).

    Args:
        script: items consumed one per request (see the module docstring), or one function
            that answers every request.
        model: the served model name; ``/v1/models`` lists it.
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
        strict: reject ``stop`` (500), unknown fields (422) and other model names (404).
    """

    def __init__(
        self,
        script: Sequence[ScriptItem] | Callable[[ChatRequest], str | Reply | Fail] = (),
        *,
        model: str = "scripted-vlm",
        api_key: str | None = None,
        strict: bool = True,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.strict = strict
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._responder: Callable[[ChatRequest], str | Reply | Fail] | None = None
        self._script: list[ScriptItem] = []
        if callable(script):
            self._responder = script
        else:
            self._script = list(script)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        if self._server is None:
            raise RuntimeError("ScriptedVLM is not running: call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def push(self, *items: ScriptItem) -> None:
        """Append items to the script."""
        with self._lock:
            self._script.extend(items)

    @property
    def remaining(self) -> int:
        """Script items not consumed yet."""
        with self._lock:
            return len(self._script)

    def start(self) -> ScriptedVLM:
        owner = self

        class Handler(_Handler):
            vlm = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-vlm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedVLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, request: ChatRequest) -> str | Reply | Fail:
        with self._lock:
            self.requests.append(request)
            if self._script:
                item = self._script.pop(0)
            elif self._responder is not None:
                item = self._responder
            else:
                return Fail(400, f"scripted VLM: no reply left for request #{len(self.requests)}")
        return item(request) if callable(item) else item


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    vlm: ScriptedVLM

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        return

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            if not self._authorised():
                return
            self._json(200, {"object": "list", "data": [{"id": self.vlm.model, "object": "model", "owned_by": "scripted"}]})
        else:
            self._json(404, _error(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, _error(f"no route {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, _error("request body is not JSON", "invalid_request_error"))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = ChatRequest(body=body, headers=headers, path=self.path, size_bytes=len(raw))
        if not self._authorised(request):
            return
        refusal = self._refusal(body)
        if refusal is not None:
            with self.vlm._lock:
                self.vlm.requests.append(request)
            refusal()
            return
        item = self.vlm._next(request)
        if isinstance(item, Fail):
            self._fail(item)
            return
        reply = item if isinstance(item, Reply) else Reply(str(item))
        if reply.delay_s:
            time.sleep(reply.delay_s)
        self._json(200, self._completion(request, reply))

    def _refusal(self, body: dict) -> Callable[[], None] | None:
        """How a real server refuses this body (a stop list, an unknown field or model in strict
        mode; streaming always), as a call that sends the answer; None when it is served."""
        vlm = self.vlm
        if vlm.strict:
            if "stop" in body:
                return lambda: self._plain(500, "Internal Server Error")
            unknown = sorted(set(body) - KNOWN_FIELDS)
            if unknown:
                return lambda: self._json(422, _error(f"unknown fields: {', '.join(unknown)}", "invalid_request_error"))
            if body.get("model") != vlm.model:
                return lambda: self._json(404, _error(f"The model `{body.get('model')}` does not exist", "model_not_found"))
        if body.get("stream"):
            return lambda: self._json(400, _error("scripted VLM does not stream", "invalid_request_error"))
        return None

    def _completion(self, request: ChatRequest, reply: Reply) -> dict:
        """The chat.completion body of ``reply``; tokens counted as words (and `IMAGE_TOKENS` per image)."""
        prompt_tokens = sum(len(t.split()) for t in request.texts()) + IMAGE_TOKENS * len(request.image_urls())
        completion_tokens = len(reply.text.split())
        return {
            "id": f"chatcmpl-scripted-{len(self.vlm.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.vlm.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": reply.finish_reason}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _authorised(self, request: ChatRequest | None = None) -> bool:
        key = self.vlm.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        if request is not None:
            with self.vlm._lock:
                self.vlm.requests.append(request)
        self._json(401, _error("Incorrect API key provided", "invalid_api_key"))
        return False

    def _fail(self, fail: Fail) -> None:
        headers = {}
        if fail.retry_after is not None:
            headers["Retry-After"] = f"{fail.retry_after:g}"
        if fail.plain_text:
            self._plain(fail.status, fail.message, headers, close=fail.close)
        else:
            self._json(fail.status, _error(fail.message, "scripted_failure"), headers, close=fail.close)

    def _json(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None, close: bool = False) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json", headers, close)

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None, close: bool = False) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers, close)

    def _send(self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None, close: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}
