"""`ModelClients`: one client per settings, made once (even when threads race), closed once."""

from __future__ import annotations

import threading
import time

import pytest

from spatialclaw.errors import ModelError
from spatialclaw.models.base import Completion, Message
from spatialclaw.models.clients import ModelClients


class RecordingClient:
    """A client that says when it was closed."""

    def __init__(self, model: str | None) -> None:
        self.model = model or "default"
        self.closed = 0

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion:
        return Completion(text="ok")

    def describe(self) -> dict:
        return {"model": self.model}

    def close(self) -> None:
        self.closed += 1


class SlowFactory:
    """Makes a `RecordingClient` after a pause (so racing threads overlap), counting what it made."""

    def __init__(self) -> None:
        self.made: list[RecordingClient] = []

    def __call__(self, model: str | None, base_url: str | None, api_key: str | None) -> RecordingClient:
        time.sleep(0.05)
        client = RecordingClient(model)
        self.made.append(client)
        return client


def test_the_same_settings_get_the_same_client_and_others_their_own() -> None:
    factory = SlowFactory()
    clients = ModelClients(factory)
    first = clients.get("m", "http://a/v1", "k")
    assert clients.get("m", "http://a/v1", "k") is first
    other = clients.get("m", "http://b/v1", "k")
    assert other is not first and len(factory.made) == 2 and len(clients) == 2


def test_threads_asking_at_once_build_one_client() -> None:
    factory = SlowFactory()
    clients = ModelClients(factory)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(clients.get("m"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(factory.made) == 1 and all(c is factory.made[0] for c in got)


def test_close_closes_each_client_once_and_forgets_it() -> None:
    factory = SlowFactory()
    with ModelClients(factory) as clients:
        a, b = clients.get("a"), clients.get("b")
    assert (a.closed, b.closed, len(clients)) == (1, 1, 0)
    clients.close()
    assert (a.closed, b.closed) == (1, 1)
    assert clients.get("a") is not a  # made again after close


def test_a_client_that_cannot_be_made_is_not_kept() -> None:
    calls: list[str | None] = []

    def refusing(model: str | None, base_url: str | None, api_key: str | None) -> RecordingClient:
        calls.append(model)
        if len(calls) == 1:
            raise ModelError("cannot reach the VLM server")
        return RecordingClient(model)

    clients = ModelClients(refusing)
    with pytest.raises(ModelError):
        clients.get("m")
    assert clients.get("m").model == "m" and len(calls) == 2
