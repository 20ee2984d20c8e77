"""`ModelClients`: the VLM clients one process keeps, built once and reused by every question.

An eval worker answers many questions with the same model. Making the client per question is
cheap for a served model but reloads every weight for ``--model hf:...``; a worker keeps one
`ModelClients` instead, which builds each client on first use (``make_client`` + the endpoint
check, as ``ask`` does) and hands the same object to every later question, until `close`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from spatialclaw.models.base import VLMClient

ClientKey = tuple[str | None, str | None, str | None]


def _make_checked(model: str | None, base_url: str | None, api_key: str | None) -> VLMClient:
    """The client ``ask`` would make for these settings, its endpoint checked once."""
    from spatialclaw.models import check_endpoint, make_client

    client = make_client(model, base_url=base_url, api_key=api_key, local_default=True)
    check_endpoint(client)
    return client


def close_client(client: VLMClient) -> None:
    """Release what ``client`` holds (weights, HTTP connections), where it has a ``close()``."""
    close = getattr(client, "close", None)
    if callable(close):
        close()


class ModelClients:
    """One VLM client per (model, endpoint, key), made on first use and shared afterwards.

    Thread-safe: two threads asking for the same settings at once get one client, built once
    (the clients themselves serialise or pool their requests).

    Args:
        factory: builds a client from ``(model, base_url, api_key)``; by default the client
            ``spatialclaw.agent.loop.ask`` makes, with its endpoint checked.
    """

    def __init__(self, factory: Callable[[str | None, str | None, str | None], VLMClient] = _make_checked) -> None:
        self._factory = factory
        self._clients: dict[ClientKey, VLMClient] = {}
        self._lock = threading.Lock()

    def get(self, model: str | None, base_url: str | None = None, api_key: str | None = None) -> VLMClient:
        """The client for these settings: the one made before, else a new one (kept).

        Raises:
            ModelError, ConfigError: the client cannot be made (as ``make_client`` raises); nothing
                is kept, so the next call tries again.
        """
        key = (model, base_url, api_key)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._factory(model, base_url, api_key)
                self._clients[key] = client
            return client

    def __len__(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        """Close every client made so far and forget them (a later `get` makes a new one)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            close_client(client)

    def __enter__(self) -> ModelClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
