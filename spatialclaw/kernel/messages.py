"""Folding what the kernel sends into one cell's result, trusting none of it.

Every Jupyter message from the kernel is untrusted input: model-written code holds the kernel's
signing key and can send any message on any channel. `CellCollector` folds the messages of one
request into text, images, an error and an answer; a message that is malformed (wrong types,
bad base64, not a PNG, a duplicate) becomes a notice and is otherwise ignored, never an
exception on the host. `host_call_reply` does the same for the kernel's ``host_call`` requests.
"""

from __future__ import annotations

import binascii
import json
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spatialclaw.errors import (
    BAD_HOST_CALL_TEXT,
    CUT_MARKER,
    HANDLER_FAILED_TEXT,
    IMAGE_REFUSED_TEXT,
    MALFORMED_TEXT,
    NO_HANDLER_TEXT,
    UNSHOWN_TEXT,
)
from spatialclaw.images import ImageRejected, image_size
from spatialclaw.kernel.bootstrap import ANSWER_MIME, HOST_CALL_PREFIX

MAX_NOTICES = 20
IMAGE_MIMES = ("image/png", "image/jpeg")  # the image outputs that come back (show() sends photos as JPEG)
MAX_ANSWER_CHARS = 100_000
MAX_HOST_CALL_CHARS = 64 * 1024 * 1024

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class Malformed(ValueError):
    """A message from the kernel that does not have the shape the protocol says."""


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves)."""
    return _ANSI.sub("", text)


def cut_middle(text: str, limit: int) -> str:
    """``text`` if at most ``limit`` characters, else its first and last halves around a marker."""
    if len(text) <= limit:
        return text
    head, tail = limit // 2, limit - limit // 2
    return text[:head] + CUT_MARKER.format(n=len(text) - head - tail) + text[len(text) - tail :]


class CappedText:
    """Accumulates text but keeps only its first and last ``limit / 2`` characters in memory."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - limit // 2
        self.head = ""
        self.tail = ""
        self.total = 0

    def add(self, text: str) -> None:
        self.total += len(text)
        if len(self.head) < self.head_limit:
            room = self.head_limit - len(self.head)
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail += text
            if len(self.tail) > 4 * self.tail_limit + 4096:
                self.tail = self.tail[-self.tail_limit :]

    def value(self) -> str:
        if self.total <= self.head_limit + self.tail_limit:
            return self.head + self.tail
        tail = self.tail[-self.tail_limit :] if self.tail_limit else ""
        return self.head + CUT_MARKER.format(n=self.total - len(self.head) - len(tail)) + tail


@dataclass
class ImageBudget:
    """What a whole session may return in images: a count and a number of bytes."""

    images: int
    bytes: int
    used_images: int = 0
    used_bytes: int = 0

    def admit(self, size: int) -> bool:
        """Count an image of ``size`` bytes if it fits the budget; False (nothing counted) if not."""
        if self.used_images >= self.images or self.used_bytes + size > self.bytes:
            return False
        self.used_images += 1
        self.used_bytes += size
        return True


@dataclass
class CellError:
    """An exception raised by a cell (or the kernel dying / timing out under it).

    Attributes:
        ename: exception class name, e.g. ``"ZeroDivisionError"``.
        evalue: the exception message.
        traceback: the formatted traceback, without ANSI colour codes.
    """

    ename: str
    evalue: str
    traceback: str


@dataclass
class CellCollector:
    """Everything one request produced, folded message by message."""

    text: CappedText
    budget: ImageBudget
    max_chars: int
    images: list[bytes] = field(default_factory=list)
    refused: int = 0
    error: CellError | None = None
    answer: Any | None = None
    answered: bool = False
    interrupted: bool = False
    notices: list[str] = field(default_factory=list)
    user_expressions: dict = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def notice(self, text: str) -> None:
        if text not in self.notices and len(self.notices) < MAX_NOTICES:
            self.notices.append(text)

    def first_time(self, msg: Any) -> bool:
        """False for a message whose id was already folded (a kernel may send one twice)."""
        header = msg.get("header") if isinstance(msg, dict) else None
        msg_id = header.get("msg_id") if isinstance(header, dict) else None
        if not isinstance(msg_id, str):
            return True
        if msg_id in self.seen:
            self.notice(MALFORMED_TEXT.format(kind="duplicate", why=f"message {msg_id[:36]} came twice"))
            return False
        self.seen.add(msg_id)
        return True

    def fold_iopub(self, msg: Any) -> bool:
        """Fold one iopub message; True when it is the kernel's 'idle'. Never raises."""
        kind = msg.get("msg_type") if isinstance(msg, dict) else None
        try:
            if not self.first_time(msg):
                return False
            content = _field(msg, "content", dict)
            if kind == "status":
                return content.get("execution_state") == "idle"
            if kind == "stream":
                self.text.add(_text(content.get("text", ""), "stream text"))
            elif kind in ("execute_result", "display_data", "update_display_data"):
                self._fold_display(_field(content, "data", dict), is_result=kind == "execute_result")
            elif kind == "error":
                self.error = self.cell_error(content)
        except Malformed as err:
            self.notice(MALFORMED_TEXT.format(kind=_as_text(kind)[:40], why=err))
        return False

    def fold_reply(self, msg: Any) -> None:
        """Fold the execute_reply (the shell channel's answer to the request). Never raises."""
        try:
            content = _field(msg, "content", dict)
            if content.get("status") == "error" and self.error is None:
                self.error = self.cell_error(content)
            expressions = content.get("user_expressions") or {}
            self.user_expressions = expressions if isinstance(expressions, dict) else {}
        except Malformed as err:
            self.notice(MALFORMED_TEXT.format(kind="execute_reply", why=err))

    def cell_error(self, content: dict) -> CellError:
        lines = content.get("traceback", [])
        lines = lines if isinstance(lines, list) else [lines]
        traceback = strip_ansi("\n".join(_as_text(line) for line in lines[:10_000]))
        return CellError(
            ename=_as_text(content.get("ename", "Error"))[:200],
            evalue=cut_middle(strip_ansi(_as_text(content.get("evalue", ""))), self.max_chars),
            traceback=cut_middle(traceback, self.max_chars),
        )

    def _fold_display(self, data: dict, *, is_result: bool) -> None:
        if ANSWER_MIME in data:
            self.answer = plain_answer(data[ANSWER_MIME])
            self.answered = True
            return
        mime = next((m for m in IMAGE_MIMES if m in data), None)
        if mime is not None:
            self._fold_image(data[mime], mime)
            if is_result and "text/plain" in data:
                self.text.add(_text(data["text/plain"], "text/plain").rstrip("\n") + "\n")
        elif "text/plain" in data:
            self.text.add(_text(data["text/plain"], "text/plain").rstrip("\n") + "\n")
        elif data:
            self.notice(UNSHOWN_TEXT.format(types=", ".join(sorted(str(k)[:60] for k in data)[:5])))

    def _fold_image(self, encoded: Any, mime: str) -> None:
        try:
            if not isinstance(encoded, str):
                raise ImageRejected(f"{mime} must be base64 text, got {type(encoded).__name__}")
            try:
                data = binascii.a2b_base64(encoded, strict_mode=True)  # C speed: base64.b64decode(validate=True) is ~10x slower
            except (binascii.Error, ValueError):
                raise ImageRejected(f"{mime} is not valid base64") from None
            if image_size(data)[0] != mime:
                raise ImageRejected(f"the {mime} output holds another kind of image")
        except ImageRejected as err:
            self.notice(IMAGE_REFUSED_TEXT.format(why=err))
            return
        if self.budget.admit(len(data)):
            self.images.append(data)
        else:
            self.refused += 1


def plain_answer(value: Any) -> Any:
    """The answer an answer message carries: ``{"value": str | int | float | bool | list}``."""
    if not isinstance(value, dict) or "value" not in value:
        raise Malformed("an answer must be an object with a 'value'")
    answer = value["value"]
    if not _is_plain(answer):
        raise Malformed("an answer value must be a str, number, bool or a list of those")
    if len(json.dumps(answer)) > MAX_ANSWER_CHARS:
        raise Malformed(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    return answer


def _is_plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, (str, bool, int)) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
        return True
    return isinstance(value, list) and depth < 4 and all(_is_plain(v, depth + 1) for v in value)


def _as_text(value: Any) -> str:
    """``value`` if it is a string, else a short repr that no nesting depth can make raise."""
    return value if isinstance(value, str) else reprlib.repr(value)


def _field(msg: Any, name: str, kind: type) -> Any:
    value = msg.get(name) if isinstance(msg, dict) else None
    if not isinstance(value, kind):
        raise Malformed(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} must be a string, got {type(value).__name__}")
    return value


def parent_id(msg: Any) -> str | None:
    """The ``parent_header.msg_id`` of a message, or None when it has none (or a malformed one)."""
    parent = msg.get("parent_header") if isinstance(msg, dict) else None
    value = parent.get("msg_id") if isinstance(parent, dict) else None
    return value if isinstance(value, str) else None


def host_call_reply(prompt: Any, handlers: dict[str, Callable[[dict], Any]]) -> str:
    """The reply to a kernel input_request: a host_call's JSON result or error, or EOF for anything
    else. Never raises for what the kernel sent; a handler's own failure is an error for the cell."""
    if not isinstance(prompt, str) or not prompt.startswith(HOST_CALL_PREFIX):
        return "\x04"
    body = prompt[len(HOST_CALL_PREFIX) :]
    try:
        if len(body) > MAX_HOST_CALL_CHARS:
            raise Malformed(f"more than {MAX_HOST_CALL_CHARS // 2**20} MiB")
        try:
            request = json.loads(body)
        except (ValueError, RecursionError) as err:  # RecursionError: nested deeper than the host decodes
            raise Malformed(f"not JSON: {err}") from None
        method, payload = _field(request, "method", str), _field(request, "payload", dict)
    except Malformed as err:
        return json.dumps({"error": BAD_HOST_CALL_TEXT.format(why=err)})
    handler = handlers.get(method)
    if handler is None:
        return json.dumps({"error": NO_HANDLER_TEXT.format(method=method[:80])})
    try:
        return json.dumps({"result": handler(payload)})
    except Exception as err:  # the handler's failure goes back to the cell, not up the host
        return json.dumps({"error": HANDLER_FAILED_TEXT.format(method=method[:80], error=f"{type(err).__name__}: {err}")})
