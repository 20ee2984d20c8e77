"""The checks on every request: what a kernel may ask for, and what reaches the service."""

from __future__ import annotations

import socket

import pytest

from spatialclaw.perception_service import protocol
from spatialclaw.perception_service.protocol import Refused, kernel_request, service_request

TOKEN = "t" * 64
GOOD = {"family": "segmentation", "backend": "learned", "positions": [0, 2], "query": "chair"}
INPUTS = {"frames_file": "/tmp/x/frames.npz", "source_kind": "video", "source_path": "/data/a.mp4", "source_files": []}


def test_a_kernel_request_of_the_allowed_shape_passes() -> None:
    assert kernel_request(GOOD, frame_count=3) == GOOD
    assert kernel_request({"family": "reconstruction", "backend": "classical", "positions": [1]}, 2)["query"] is None


@pytest.mark.parametrize("payload, why", [
    ([1, 2], "exactly the keys"),
    ({**GOOD, "frames_file": "/etc/shadow"}, "exactly the keys"),  # the kernel cannot choose the frames
    ({**GOOD, "family": "objects"}, "does not compute"),
    ({**GOOD, "backend": "gt"}, "does not compute"),
    ({**GOOD, "family": "segmentation", "backend": "classical"}, "does not compute"),
    ({**GOOD, "positions": "0"}, "list"),
    ({**GOOD, "positions": []}, "list"),
    ({**GOOD, "positions": [0, True]}, "integers"),
    ({**GOOD, "positions": [0, 1.0]}, "integers"),
    ({**GOOD, "positions": [3]}, "out of range"),
    ({**GOOD, "positions": [-1]}, "out of range"),
    ({**GOOD, "positions": list(range(protocol.MAX_POSITIONS + 1))}, "list"),
    ({**GOOD, "query": ["chair"]}, "query"),
    ({**GOOD, "query": "x" * (protocol.MAX_QUERY_CHARS + 1)}, "query"),
    ({"family": "reconstruction", "backend": "learned", "positions": [0], "query": "chair"}, "no query"),
])
def test_a_malformed_kernel_request_is_refused_with_the_reason(payload: object, why: str) -> None:
    with pytest.raises(Refused, match=why):
        kernel_request(payload, frame_count=3)


def test_the_service_takes_only_the_token_holder_and_named_methods() -> None:
    args = {k: v for k, v in GOOD.items() if k != "family"} | INPUTS
    method, checked = service_request({"token": TOKEN, "method": "segment", "args": args}, TOKEN)
    assert method == "segment" and checked["family"] == "segmentation" and checked["frames_file"] == INPUTS["frames_file"]
    assert service_request({"token": TOKEN, "method": "stats"}, TOKEN) == ("stats", {})
    with pytest.raises(Refused, match="token"):
        service_request({"token": "u" * 64, "method": "segment", "args": args}, TOKEN)
    with pytest.raises(Refused, match="token"):
        service_request({"method": "ping"}, TOKEN)
    with pytest.raises(Refused, match="token"):
        service_request({"token": "", "method": "ping"}, "")  # a service without a token yet answers no one
    with pytest.raises(Refused, match="unknown method"):
        service_request({"token": TOKEN, "method": "exec", "args": {"code": "import os"}}, TOKEN)
    with pytest.raises(Refused, match="unknown method"):
        service_request({"token": TOKEN, "method": ["segment"], "args": args}, TOKEN)
    with pytest.raises(Refused, match="absolute path"):
        service_request({"token": TOKEN, "method": "segment", "args": {**args, "frames_file": "frames.npz"}}, TOKEN)
    with pytest.raises(Refused, match="arguments"):
        service_request({"token": TOKEN, "method": "segment", "args": {**args, "model": "/tmp/evil"}}, TOKEN)
    with pytest.raises(Refused, match="source_kind"):
        service_request({"token": TOKEN, "method": "segment", "args": {**args, "source_kind": "url"}}, TOKEN)


def test_a_message_is_length_prefixed_json_and_an_oversized_one_is_refused_unread() -> None:
    left, right = socket.socketpair()
    with left, right:
        protocol.send_message(left, {"a": [1, 2]})
        assert protocol.receive_message(right, 100) == {"a": [1, 2]}
        left.sendall(protocol.HEADER.pack(10**9))
        with pytest.raises(Refused, match="more than"):
            protocol.receive_message(right, 1000)
        left.sendall(protocol.HEADER.pack(4) + b"[1] ")
        with pytest.raises(Refused, match="not a JSON object"):
            protocol.receive_message(right, 1000)
        left.close()
        with pytest.raises(protocol.ConnectionLost):
            protocol.receive_message(right, 1000)
