"""VLM clients: OpenAI-compatible endpoints and local transformers models.

``make_client`` picks one from the settings: ``--model hf:PATH_OR_ID`` runs a transformers model
in this process; anything else is a served model name at an OpenAI-compatible ``--base-url``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, setting
from spatialclaw.models.base import Completion, Image, Message, Usage, VLMClient

HF_PREFIX = "hf:"

__all__ = ["Completion", "Image", "Message", "Usage", "VLMClient", "make_client", "check_endpoint", "HF_PREFIX"]


def check_endpoint(client: VLMClient) -> None:
    """Fail fast, with one line, when ``client``'s server is unreachable (clients that talk to a
    server have ``check()``; local models have nothing to check)."""
    check = getattr(client, "check", None)
    if callable(check):
        check()


def make_client(
    model: str | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 300.0,
    max_retries: int = 5,
    local_default: bool = False,
    announce: Callable[[str], None] | None = None,
) -> VLMClient:
    """The client for ``model`` (flag > ``$SPATIALCLAW_MODEL``).

    Args:
        model: ``hf:PATH_OR_ID`` for a local transformers model, else the served model name
            (None: the only model the server lists).
        base_url: OpenAI-compatible API root (flag > ``$OPENAI_BASE_URL``); ignored for ``hf:``.
        api_key: (flag > ``$OPENAI_API_KEY``); ignored for ``hf:``.
        timeout: seconds to wait for one HTTP response.
        max_retries: retries after rate limits, server errors and timeouts.
        local_default: with no model, endpoint or key configured and a CUDA/MPS device present,
            run `spatialclaw.models.local_default.DEFAULT_LOCAL_VLM` in this process (downloaded on
            first use); without such a device the usual "configure an endpoint" error stands.
        announce: where the one-line notice about the local default goes (default: stderr).
    """
    resolved = setting(model, ENV_MODEL)
    if resolved and resolved.startswith(HF_PREFIX):
        from spatialclaw.models.hf_local import HFLocalClient

        return HFLocalClient(resolved[len(HF_PREFIX) :])
    if local_default and not (resolved or setting(base_url, ENV_BASE_URL) or setting(api_key, ENV_API_KEY)):
        from spatialclaw.models.local_default import default_local_client

        client = default_local_client(announce or _to_stderr)
        if client is not None:
            return client
    from spatialclaw.models.openai_compat import OpenAICompatClient

    return OpenAICompatClient(resolved, base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
