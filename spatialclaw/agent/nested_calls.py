"""Nested VLM calls from the kernel (`ask_vlm`, `locate`), answered through the agent's client:
payloads checked as untrusted, capped per cell and per run, recorded on the run in progress."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spatialclaw import prompts
from spatialclaw.agent.kernel_images import untrusted_image
from spatialclaw.agent.reply_parsing import parse_point
from spatialclaw.agent.steps import NestedCall
from spatialclaw.errors import ModelError
from spatialclaw.images import png_size
from spatialclaw.models.base import Message

if TYPE_CHECKING:
    from spatialclaw.agent.loop import RunContext
    from spatialclaw.config import RunConfig
    from spatialclaw.models.base import VLMClient

NESTED_CAP_TEXT = "{method} refused: at most {cap} nested VLM calls {scope} (this one would be number {n})"
MAX_NESTED_IMAGES = 16  # images one ask_vlm call may send
MAX_NESTED_CHARS = 20_000  # longest prompt or description of a nested call, characters


class NestedCalls:
    """The host side of the kernel's nested calls; `Agent` is one (``client``, ``config`` and
    ``_run``, the run in progress or None, are the agent's)."""

    client: VLMClient
    config: RunConfig
    _run: RunContext | None

    def host_handlers(self) -> dict[str, Callable[[dict], Any]]:
        """Handlers for `KernelSession(host_handlers=...)`: ``ask_vlm`` and ``locate`` through this agent's client."""
        return {"ask_vlm": self.ask_vlm, "locate": self.locate}

    def ask_vlm(self, payload: dict) -> str:
        """``{"prompt": str, "images": [base64 PNG, ...]}`` → the model's reply text."""
        prompt = _bounded_text(payload.get("prompt", ""), "prompt")
        self._check_nested_cap("ask_vlm")
        encoded = _list(payload.get("images"))
        if len(encoded) > MAX_NESTED_IMAGES:
            raise ValueError(f"ask_vlm takes at most {MAX_NESTED_IMAGES} images, got {len(encoded)}")
        images = [untrusted_image(b, self.config.max_side) for b in encoded]
        call = self._nested_call("ask_vlm", prompt, [Message("user", [*images, prompt])])
        return call.reply

    def locate(self, payload: dict) -> list[float] | None:
        """``{"description": str, "image": base64 PNG}`` → ``[x, y]`` in pixels of that image, or None.

        The model sees the image with its long edge capped at ``max_side`` and is asked for
        pixel coordinates of what it sees (x right, y down, from the top-left corner); the point
        is scaled back to the original image. Replies in 0–1000 normalised coordinates or
        fractions are read as `parse_point` describes.
        """
        description = _bounded_text(payload.get("description", ""), "description")
        self._check_nested_cap("locate")
        image = untrusted_image(payload.get("image"), self.config.max_side)
        full_w, full_h = png_size(base64.b64decode(payload["image"]))
        prompt = prompts.render("locate.md.j2", description=description, width=image.width, height=image.height)
        call = self._nested_call("locate", prompt, [Message("user", [image, prompt])])
        point = parse_point(call.reply, image.width, image.height, self.config.locate_coords)
        result = None if point is None else [point[0] * full_w / image.width, point[1] * full_h / image.height]
        call.result = result
        return result

    def _check_nested_cap(self, method: str) -> None:
        """Raise (back to the cell) when this call would pass the per-cell or per-run cap."""
        run = self._run
        if run is None:
            return
        per_cell, per_run = self.config.vlm_calls_per_cell, self.config.vlm_calls_per_run
        in_cell = len(run.nested) + 1 if run.nested is not None else 1
        if per_cell is not None and in_cell > per_cell:
            raise RuntimeError(NESTED_CAP_TEXT.format(method=method, cap=per_cell, scope="per cell", n=in_cell))
        if per_run is not None and run.nested_total + 1 > per_run:
            raise RuntimeError(NESTED_CAP_TEXT.format(method=method, cap=per_run, scope="per task", n=run.nested_total + 1))
        run.nested_total += 1

    def _nested_call(self, method: str, prompt: str, messages: list[Message]) -> NestedCall:
        run = self._run
        try:
            completion = self.client.complete(messages, max_tokens=self.config.max_reply_tokens)
        except ModelError as err:
            if run is not None:
                run.nested_failure = err
            raise
        call = NestedCall(method, prompt, completion.text, completion.usage, completion.duration_s)
        if run is not None and run.nested is not None:
            run.nested.append(call)
        return call


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _bounded_text(value: Any, what: str) -> str:
    """A nested call's text as sent by the kernel, refused (back to the cell) when too long."""
    text = str(value)
    if len(text) > MAX_NESTED_CHARS:
        raise ValueError(f"the {what} is {len(text)} characters long, more than the {MAX_NESTED_CHARS} allowed")
    return text
