"""What travels between a host and the perception service, and the checks on every request.

Transport: a unix stream socket in a private folder (mode 0700, the host user's); next to it a
``token`` file (0600) holding a random secret that every request carries. One message is a
4-byte big-endian length, then that many bytes of UTF-8 JSON (an object). A request is
``{"token": str, "method": str, "args": object}``; a reply is ``{"ok": true, "result": object}``
or ``{"ok": false, "error": str, "kind": str}`` with ``kind`` one of `ERROR_KINDS`.

No array travels here: the service reads the input frames from the host's frames file and
writes each result into the shared perception cache; the reply names the cache key.

Two checks, both raising `Refused` with a one-line reason:

- `kernel_request`: what a kernel asked its host for (``host_call("perception", payload)``),
  untrusted: a family, frame positions, a query and the backend the kernel chose, nothing else.
- `service_request`: what reaches the service's socket from a host: the token (`check_token`),
  then the method allowlist and the perception arguments' types and sizes (`checked_request`,
  also all a Ray Serve replica checks: see `ray_deployment`).
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import struct
from typing import Any

from spatialclaw.primitives.remote import SERVED  # (family, backend) pairs the service computes

MAX_REQUEST_BYTES = 64 * 1024  # largest request the service reads
MAX_REPLY_BYTES = 1024 * 1024  # largest reply a host reads
MAX_POSITIONS = 10_000  # frame positions one request may name
MAX_QUERY_CHARS = 500
MAX_PATH_CHARS = 4096
MAX_SOURCE_FILES = 100_000
HEADER = struct.Struct(">I")

# Method → the perception family it serves; the only methods a kernel's request can become.
PERCEPTION_METHODS = {"reconstruct": "reconstruction", "segment": "segmentation", "track": "tracking"}
FAMILY_METHODS = {family: method for method, family in PERCEPTION_METHODS.items()}
# Methods only a host calls (never relayed for a kernel).
CONTROL_METHODS = ("ping", "stats", "shutdown")
ERROR_KINDS = ("refused", "perception", "failed")
KERNEL_KEYS = frozenset({"family", "backend", "positions", "query"})
SOURCE_KINDS = ("video", "images", "rgbd", "none")
CACHE_KEY = re.compile(r"^[0-9a-f]{16,64}$")


class Refused(ValueError):
    """A request that does not have the shape the protocol allows (the message says why)."""


class ConnectionLost(OSError):
    """The other side closed the socket before a whole message arrived."""


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one length-prefixed JSON message."""
    body = json.dumps(message).encode()
    sock.sendall(HEADER.pack(len(body)) + body)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 16))
        if not chunk:
            raise ConnectionLost("the connection closed mid-message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive_message(sock: socket.socket, limit: int) -> dict[str, Any]:
    """Read one message of at most ``limit`` bytes.

    Raises:
        Refused: the message is longer than ``limit``, not JSON, or not a JSON object (the
            rest of an oversized message is not read: close the connection).
        ConnectionLost: the connection closed first.
    """
    header = _read_exactly(sock, HEADER.size)
    (length,) = HEADER.unpack(header)
    if length > limit:
        raise Refused(f"the message is {length} bytes, more than the {limit} allowed")
    try:
        message = json.loads(_read_exactly(sock, length))
    except (ValueError, UnicodeDecodeError) as err:
        raise Refused(f"the message is not JSON ({err})") from None
    if not isinstance(message, dict):
        raise Refused("the message is not a JSON object")
    return message


def _positions(value: Any, frame_count: int | None) -> list[int]:
    if not isinstance(value, list) or not value or len(value) > MAX_POSITIONS:
        raise Refused(f"positions must be a list of 1 to {MAX_POSITIONS} frame positions")
    if not all(type(p) is int for p in value):
        raise Refused("positions must be integers")
    top = frame_count if frame_count is not None else 10**9
    if not all(0 <= p < top for p in value):
        raise Refused(f"a frame position is out of range 0..{top - 1}")
    return list(value)


def _query(family: Any, value: Any) -> str | None:
    if family == "reconstruction":
        if value is not None:
            raise Refused("a reconstruction takes no query")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_QUERY_CHARS:
        raise Refused(f"{family} needs a query of 1 to {MAX_QUERY_CHARS} characters")
    return value


def kernel_request(payload: Any, frame_count: int) -> dict[str, Any]:
    """The perception request a kernel may make, checked: ``{"family", "backend", "positions",
    "query"}`` with positions in ``0..frame_count-1``.

    Raises:
        Refused: anything else (unknown keys, an unknown family or backend, wrong types, sizes).
    """
    if not isinstance(payload, dict) or set(payload) - KERNEL_KEYS or not {"family", "backend", "positions"} <= set(payload):
        raise Refused(f"a perception request is an object with exactly the keys {sorted(KERNEL_KEYS)} (query optional)")
    family, backend = payload["family"], payload["backend"]
    if (family, backend) not in SERVED:
        raise Refused(f"the service does not compute {family!r} with backend {backend!r}")
    return {"family": family, "backend": backend, "positions": _positions(payload["positions"], frame_count),
            "query": _query(family, payload.get("query"))}


def _path(value: Any, name: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_PATH_CHARS or "\x00" in value:
        raise Refused(f"{name} must be an absolute path")
    return value


def perception_args(method: str, args: Any) -> dict[str, Any]:
    """The arguments of a perception method, checked: the kernel's request plus the inputs the
    host adds (``frames_file``, ``source_kind``, ``source_path``, ``source_files``).

    Raises:
        Refused: a missing or extra argument, a wrong type or size.
    """
    allowed = KERNEL_KEYS - {"family"} | {"frames_file", "source_kind", "source_path", "source_files"}
    if not isinstance(args, dict) or set(args) - allowed:
        raise Refused(f"{method} takes the arguments {sorted(allowed)}")
    family = PERCEPTION_METHODS[method]
    if (family, args.get("backend")) not in SERVED:
        raise Refused(f"the service does not compute {family} with backend {args.get('backend')!r}")
    files = args.get("source_files") or []
    if not isinstance(files, list) or len(files) > MAX_SOURCE_FILES:
        raise Refused(f"source_files must be a list of at most {MAX_SOURCE_FILES} paths")
    if args.get("source_kind", "none") not in SOURCE_KINDS:
        raise Refused(f"source_kind must be one of {SOURCE_KINDS}")
    return {
        "family": family, "backend": args["backend"], "positions": _positions(args.get("positions"), None),
        "query": _query(family, args.get("query")), "frames_file": _path(args.get("frames_file"), "frames_file"),
        "source_kind": args.get("source_kind", "none"), "source_path": _path(args.get("source_path"), "source_path", True),
        "source_files": [_path(f, "a source file") for f in files],
    }


def check_token(message: dict[str, Any], token: str) -> None:
    """Raises `Refused` unless ``message["token"]`` is ``token`` (compared in constant time)."""
    given = message.get("token")
    if not token or not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
        raise Refused("the token is wrong: read it from the service's token file")


def checked_request(message: Any) -> tuple[str, dict[str, Any]]:
    """(method, checked arguments) of a request whose sender is already trusted: the method
    allowlist and the arguments' types and sizes (the token is `check_token`'s).

    Raises:
        Refused: not an object, an unknown method, or arguments of the wrong shape.
    """
    if not isinstance(message, dict):
        raise Refused("a request is an object {method, args}")
    method = message.get("method")
    if method in CONTROL_METHODS:
        return method, {}
    if not isinstance(method, str) or method not in PERCEPTION_METHODS:
        known = sorted(PERCEPTION_METHODS) + list(CONTROL_METHODS)
        raise Refused(f"unknown method {str(method)[:40]!r}: the service serves {', '.join(known)}")
    return method, perception_args(method, message.get("args"))


def service_request(message: dict[str, Any], token: str) -> tuple[str, dict[str, Any]]:
    """(method, checked arguments) of a request that reached the service's socket.

    Raises:
        Refused: a wrong token, an unknown method, or arguments of the wrong shape.
    """
    check_token(message, token)
    return checked_request(message)
