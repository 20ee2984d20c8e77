"""A client for any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, Ollama, llama.cpp
server, ``transformers serve``, hosted APIs), through the ``openai`` package.

Requests carry only ``model``, ``messages`` and, when set, ``max_tokens`` and ``temperature``:
some servers answer an unknown field with 422 and any ``stop`` with 500. Images travel as data
URLs. Rate limits (429), server errors (5xx), timeouts and dropped connections are retried with
exponential back-off, honouring ``Retry-After``, a bounded number of times; credentials, unknown
models and unreachable servers become a one-line ``ModelError`` naming what to check.
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, setting
from spatialclaw.errors import ConfigError, ModelError
from spatialclaw.models.base import Completion, Image, Message, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, Ollama, llama.cpp, transformers serve) accept any key; the openai package needs one.
PLACEHOLDER_API_KEY = "not-needed"
CHECK_TIMEOUT_S = 10.0  # the endpoint check before a run: one request, no retries
AUTH_TEXT = "{where} refused the API key (HTTP 401): check --api-key / " + ENV_API_KEY
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


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


def _retry_after_s(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date), or None."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


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
        max_retries: retries after a 429/5xx/timeout/dropped connection (0 = try once).
        backoff_s: first back-off in seconds; doubles each retry, with jitter, capped at
            ``max_backoff_s``; a server's ``Retry-After`` replaces it (also capped).
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
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        import openai

        self.base_url = (setting(base_url, ENV_BASE_URL, DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        key = setting(api_key, ENV_API_KEY)
        if key is None:
            if self.base_url == DEFAULT_BASE_URL:
                raise ConfigError(
                    f"no API key for {DEFAULT_BASE_URL}: pass --api-key or set {ENV_API_KEY} "
                    f"(or point --base-url / {ENV_BASE_URL} at a local server)"
                )
            key = PLACEHOLDER_API_KEY
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._openai = openai
        self._sent_bytes: list[int] = []
        http_client_class = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
        http_client = http_client_class(event_hooks={"request": [self._count_bytes]})
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0, http_client=http_client
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
            raise ModelError(AUTH_TEXT.format(where=where)) from None
        except openai.APITimeoutError:
            raise ModelError(
                f"{where} did not answer within {timeout_s:g} s: check that it is up and --base-url / {ENV_BASE_URL}"
            ) from None
        except openai.APIConnectionError as err:
            text = " ".join(f"{err} {err.__cause__ or ''}".split())
            cause = "connection refused" if "refused" in text.lower() else text[:120]
            raise ModelError(f"cannot reach {where} ({cause}): start it, or fix --base-url / {ENV_BASE_URL}") from None
        except openai.APIStatusError:
            return  # it answered: reachable, even without a /models route

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
        attempts, response = self._with_retries(
            lambda: post("/chat/completions", body=payload, cast_to=self._openai.types.chat.ChatCompletion)
        )
        request_bytes = self._sent_bytes[-1] if self._sent_bytes else 0
        self._sent_bytes.clear()
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

    def _with_retries(self, call: Any) -> tuple[int, Any]:
        openai = self._openai
        attempt = 0
        while True:
            attempt += 1
            try:
                return attempt, call()
            except openai.APIStatusError as err:
                status = err.status_code
                if status not in _RETRY_STATUS or attempt > self.max_retries:
                    raise self._fatal(err, attempt) from None
                delay = _retry_after_s(err.response.headers)
            except openai.APIConnectionError as err:
                if attempt > self.max_retries:
                    raise self._fatal(err, attempt) from None
                delay = None
            if delay is None:
                delay = self.backoff_s * (2 ** (attempt - 1)) * (0.75 + 0.5 * random.random())
            time.sleep(min(delay, self.max_backoff_s))

    def _fatal(self, err: Exception, attempts: int) -> ModelError:
        """One line for the user: what failed and what to check."""
        openai = self._openai
        where = f"the VLM server at {self.base_url}"
        if isinstance(err, openai.AuthenticationError):
            return ModelError(AUTH_TEXT.format(where=where))
        if isinstance(err, openai.PermissionDeniedError):
            return ModelError(
                f"{where} denied access to model '{self.model}' (HTTP 403): check that --api-key / "
                f"{ENV_API_KEY} may use it"
            )
        if isinstance(err, openai.NotFoundError):
            return ModelError(
                f"{where} has no model '{self.model}' or no chat-completions route (HTTP 404): check --model / "
                f"{ENV_MODEL} (the exact served name) and --base-url / {ENV_BASE_URL} (it usually ends in /v1)"
            )
        if isinstance(err, openai.APITimeoutError):
            return ModelError(
                f"{where} did not answer within {self.timeout:g} s ({attempts} attempts): check that it is up "
                "and not overloaded, or raise the request timeout"
            )
        if isinstance(err, openai.APIConnectionError):
            return ModelError(
                f"cannot reach {where} ({attempts} attempts): check that it is running and --base-url / "
                f"{ENV_BASE_URL}"
            )
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            hint = (
                f"gave up after {attempts} attempts" if status in _RETRY_STATUS else "check --model and the request size"
            )
            return ModelError(f"{where} answered HTTP {status} ({_server_message(err)}): {hint}")
        return ModelError(f"{where} failed: {' '.join(str(err).split())}")

    def _only_served_model(self) -> str:
        """The single model the server lists under ``/models``; else a ConfigError naming the choices."""
        self.check()
        try:
            _, page = self._with_retries(lambda: self._client.models.list())
            names = [m.id for m in page.data]
        except ModelError:
            raise
        except Exception:  # noqa: BLE001 - servers without /models: the user must name the model
            names = []
        if len(names) == 1:
            return names[0]
        listed = f" (the server lists: {', '.join(names[:8])})" if names else ""
        raise ConfigError(f"no model given: pass --model or set {ENV_MODEL}{listed}")
