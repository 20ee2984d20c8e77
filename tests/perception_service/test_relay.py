"""The host's relay of a kernel's perception request: checked, completed with the session's
inputs, and answered as data whatever the service does (down, silent, refusing)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialclaw.perception_service import protocol
from spatialclaw.perception_service.client import ServiceClient
from spatialclaw.perception_service.folder import ServiceFolder, ensure_private, write_token
from spatialclaw.perception_service.relay import relay

REQUEST = {"family": "segmentation", "backend": "learned", "positions": [0], "query": "chair"}
INPUTS = {"frames_file": "/tmp/none/frames.npz", "source_kind": "video", "source_path": "/tmp/none/a.mp4", "source_files": []}


@pytest.fixture()
def folder() -> Iterator[ServiceFolder]:
    root = Path(tempfile.mkdtemp(prefix="scr-"))
    found = ServiceFolder(root / "svc" / "service.sock")
    ensure_private(found.root)
    yield found
    shutil.rmtree(root, ignore_errors=True)


def fake_service(folder: ServiceFolder, answer: dict | None) -> tuple[socket.socket, list[dict]]:
    """A socket that reads one request and sends ``answer`` (None: never answers)."""
    write_token(folder)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder.socket))
    listener.listen(1)
    seen: list[dict] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(protocol.receive_message(conn, protocol.MAX_REQUEST_BYTES))
            if answer is not None:
                protocol.send_message(conn, answer)
            else:
                conn.recv(1)  # hold the connection until the client gives up

    threading.Thread(target=serve, daemon=True).start()
    return listener, seen


def test_the_kernel_gets_the_key_and_the_service_gets_the_hosts_inputs(folder: ServiceFolder) -> None:
    listener, seen = fake_service(folder, {"ok": True, "result": {"key": "ab" * 20}})
    with listener:
        assert relay(ServiceClient(folder), REQUEST, 3, INPUTS) == {"key": "ab" * 20}
    assert seen[0]["method"] == "segment" and seen[0]["args"]["frames_file"] == INPUTS["frames_file"]
    assert "family" not in seen[0]["args"] and len(seen[0]["token"]) == 64


def test_a_service_that_does_not_answer_in_time_is_a_perception_error_not_a_second_computation(folder: ServiceFolder) -> None:
    listener, _ = fake_service(folder, None)
    with listener:
        reply = relay(ServiceClient(folder), REQUEST, 3, INPUTS, timeout_s=0.5)
    assert "still computing this segmentation after 0.5 s" in reply["perception_error"]


def test_no_service_or_a_failed_one_lets_the_kernel_compute_and_bad_requests_raise(folder: ServiceFolder) -> None:
    assert "not answering" in relay(ServiceClient(folder), REQUEST, 3, INPUTS)["unavailable"]
    listener, _ = fake_service(folder, {"ok": False, "kind": "failed", "error": "RuntimeError: out of memory"})
    with listener:
        assert "out of memory" in relay(ServiceClient(folder), REQUEST, 3, INPUTS)["unavailable"]
    with pytest.raises(protocol.Refused, match="out of range"):
        relay(ServiceClient(folder), {**REQUEST, "positions": [3]}, 3, INPUTS)
    with pytest.raises(protocol.Refused, match="no input frames"):
        relay(ServiceClient(folder), REQUEST, 3, {**INPUTS, "frames_file": None})
