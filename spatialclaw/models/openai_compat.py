"""A client for any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, Ollama, llama.cpp
server, ``transformers serve``, hosted APIs), through the ``openai`` package.

Requests carry only ``model``, ``messages`` and, when set, ``max_tokens`` and ``temperature``:
some servers answer an unknown field with 422 and any ``stop`` with 500. Images travel as data
URLs. Rate limits (429), server errors (5xx), timeouts and dropped connections are retried by the
``openai`` client itself (``max_retries``: exponential back-off from 0.5 s up to 8 s with jitter,
or the server's ``Retry-After`` up to two minutes); credentials, unknown models and unreachable
servers become a one-line ``ModelError`` (`spatialclaw.errors`) naming what to check.
"""

from __future__ import annotations

import time
from typing import Any

from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, setting
from spatialclaw.errors import ConfigError, ModelError
from spatialclaw.models.base import Completion, Image, Message, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, Ollama, llama.cpp, transformers serve) accept any key; the openai package needs one.
PLACEHOLDER_API_KEY = "not-needed"
CHECK_TIMEOUT_S = 10.0  # the endpoint check before a run: one request, no retries
# What the openai client retries: these, and every 5xx.
_RETRY_STATUS = frozenset({408, 409, 429})


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Chat-completions ``messages``: a plain string for text-only turns, else a list of
    ``{"type": "text"}`` / ``{"type": "image_url"}`` parts with data URLs."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        if all(isinstance(p, str) for p in msg.content):
            out.append({"role": msg.role, "content": "\n".join(msg.content)})  # type: ignore[arg-type]
            continue
        parts: list[dict[str, Any]] = []
        for part in msg.content:
            if isinstance(part, Image):
                parts.append({"type": "image_url", "image_url": {"url": part.data_url()}})
            else:
                parts.append({"type": "text", "text": part})
        out.append({"role": msg.role, "content": parts})
    return out


def _server_message(err: Any) -> str:
    """The server's error text, on one line and short."""
    body = getattr(err, "body", None)
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message", "") if isinstance(inner, dict) else str(inner)
    if not text:
        response = getattr(err, "response", None)
        try:
            text = response.text if response is not None else str(err)
        except Exception:  # noqa: BLE001 - a streamed or closed body has no text; the status is enough
            text = str(err)
    text = " ".join(str(text).split())
    return text[:200] + ("..." if len(text) > 200 else "")


class OpenAICompatClient:
    """Chat completions against ``base_url`` with ``model``.

    Args:
        model: the served model name, exactly as the server spells it (``--model`` >
            ``$SPATIALCLAW_MODEL``); None asks the server's ``/models`` and takes the only one.
        base_url: the API root, usually ending in ``/v1`` (``--base-url`` > ``$OPENAI_BASE_URL`` >
            the OpenAI API).
        api_key: ``--api-key`` > ``$OPENAI_API_KEY`` > a placeholder that local servers accept.
        timeout: seconds to wait for one HTTP response.
        max_retries: retries after a 429/5xx/timeout/dropped connection (0 = try once), with
            the ``openai`` client's own back-off and ``Retry-After`` handling.
        temperature: sent only when not None.
        max_tokens: default reply length cap, sent only when not None.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 5,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        import openai

        self.base_url = (setting(base_url, ENV_BASE_URL, DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        key = setting(api_key, ENV_API_KEY)
        if key is None:
            if self.base_url == DEFAULT_BASE_URL:
                raise ConfigError.no_api_key(DEFAULT_BASE_URL)
            key = PLACEHOLDER_API_KEY
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._openai = openai
        self._sent_bytes: list[int] = []
        http_client_class = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
        http_client = http_client_class(event_hooks={"request": [self._count_bytes]})
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=self.max_retries, http_client=http_client
        )
        resolved = setting(model, ENV_MODEL)
        self.model: str = resolved if resolved else self._only_served_model()

    def check(self, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        """One quick ``GET /models`` to see that the server is there, before anything slow starts.

        No retries: a refused connection or an unknown host fails at once. Any HTTP answer but a
        401 counts as reachable (servers without ``/models`` answer 404).

        Raises:
            ModelError: nothing answers at ``base_url``, or the server refused the API key.
        """
        openai = self._openai
        where = f"the VLM server at {self.base_url}"
        try:
            self._client.with_options(timeout=timeout_s, max_retries=0).models.list()
        except openai.AuthenticationError:
            raise ModelError.bad_key(where) from None
        except openai.APITimeoutError:
            raise ModelError.check_timed_out(where, timeout_s) from None
        except openai.APIConnectionError as err:
            text = " ".join(f"{err} {err.__cause__ or ''}".split())
            cause = "connection refused" if "refused" in text.lower() else text[:120]
            raise ModelError.not_running(where, cause) from None
        except openai.APIStatusError:
            return  # it answered: reachable, even without a /models route

    def close(self) -> None:
        """Close the HTTP connections this client keeps open."""
        self._client.close()

    def describe(self) -> dict:
        """What a trajectory records about this client (never the key)."""
        return {"backend": "openai", "model": self.model, "base_url": self.base_url}

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion:
        """Send ``messages``; return the first choice's text with usage and timing."""
        start = time.perf_counter()
        payload: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        cap = max_tokens if max_tokens is not None else self.max_tokens
        if cap is not None:
            payload["max_tokens"] = int(cap)
        if self.temperature is not None:
            payload["temperature"] = float(self.temperature)
        # The generic POST skips the package's per-field transform of the messages (tens of ms for
        # a request with a dozen images); the body and the reply types are the same.
        post = self._client.post
        attempts, response = self._attempt(
            lambda: post("/chat/completions", body=payload, cast_to=self._openai.types.chat.ChatCompletion)
        )
        request_bytes = self._sent_bytes[-1] if self._sent_bytes else 0
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                requests=1,
            ),
            duration_s=time.perf_counter() - start,
            request_bytes=request_bytes,
            attempts=attempts,
            finish_reason=getattr(choice, "finish_reason", None),
        )

    def _count_bytes(self, request: Any) -> None:
        """HTTP request hook: remember the body size of what went out."""
        self._sent_bytes.append(len(request.content))

    def _attempt(self, call: Any) -> tuple[int, Any]:
        """``call()`` (the openai client retries it), and how many requests went out; a failure
        for good becomes a one-line `ModelError`."""
        self._sent_bytes.clear()
        try:
            response = call()
        except (self._openai.APIStatusError, self._openai.APIConnectionError) as err:
            raise self._fatal(err, max(1, len(self._sent_bytes))) from None
        return max(1, len(self._sent_bytes)), response

    def _fatal(self, err: Exception, attempts: int) -> ModelError:
        """One line for the user: what failed and what to check."""
        openai = self._openai
        where = f"the VLM server at {self.base_url}"
        if isinstance(err, openai.AuthenticationError):
            return ModelError.bad_key(where)
        if isinstance(err, openai.PermissionDeniedError):
            return ModelError.forbidden(where, self.model)
        if isinstance(err, openai.NotFoundError):
            return ModelError.unknown_model(where, self.model)
        if isinstance(err, openai.APITimeoutError):
            return ModelError.timed_out(where, self.timeout, attempts)
        if isinstance(err, openai.APIConnectionError):
            return ModelError.unreachable(where, attempts)
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            retried = status in _RETRY_STATUS or status >= 500
            return ModelError.http_status(where, status, _server_message(err), retried=retried, attempts=attempts)
        return ModelError.failed(where, str(err))

    def _only_served_model(self) -> str:
        """The single model the server lists under ``/models``; else a ConfigError naming the choices."""
        self.check()
        try:
            _, page = self._attempt(lambda: self._client.models.list())
            names = [m.id for m in page.data]
        except ModelError:
            raise
        except Exception:  # noqa: BLE001 - servers without /models: the user must name the model
            names = []
        if len(names) == 1:
            return names[0]
        raise ConfigError.no_model(names)
