"""Nested questions to the vision-language model: `ask_vlm` and `locate`.

The kernel knows no model: both go through their kernel context's ``host_call`` (JSON in and
out, images as base64 PNG), which the host answers with its own handlers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spatialclaw.images import as_rgb, png_base64
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.output import in_context
from spatialclaw.primitives.registry import primitive


def to_image(item: Any) -> np.ndarray:
    """An H×W×3 uint8 RGB array from a Frame, an image array (by `spatialclaw.images`' dtype/range
    rule) or anything with ``.render()``."""
    if hasattr(item, "render") and not isinstance(item, (np.ndarray, Frame)):
        item = item.render()
    return as_rgb(item, what="ask_vlm/locate")


def _host(method: str, payload: dict, context: KernelContext) -> Any:
    call = context.host_call
    if call is None:
        raise RuntimeError(f"no VLM configured for nested calls ({method}): answer from the frames and primitives instead")
    return call(method, payload)


@primitive(group="vlm")
def ask_vlm(prompt: str, images: list[Any] | None = None, *, context: KernelContext) -> str:
    """Ask the vision-language model a question about some images; returns its text answer.

    Useful for what geometry cannot tell: colours, materials, text, what an object is.
    Each call costs time: batch what you need into one prompt.

    Args:
        prompt: the question.
        images: Frames, H×W×3 uint8 arrays, or results with `.render()`; none by default.
    """
    encoded = [png_base64(to_image(in_context(im, context))) for im in (images or [])]
    return str(_host("ask_vlm", {"prompt": str(prompt), "images": encoded}, context))


@primitive(group="vlm")
def locate(description: str, frame: Frame | int, *, context: KernelContext) -> tuple[float, float] | None:
    """Ask the vision-language model to point at an object in one frame.

    Args:
        description: what to find, e.g. "the red chair next to the window".
        frame: a Frame from `frames`, or its position.

    Returns:
        (x, y) pixel coordinates in that frame (x right, y down), or None if not found.
    """
    image = frame.image if isinstance(frame, Frame) else context.frames[int(frame)].image
    reply = _host("locate", {"description": str(description), "image": png_base64(image)}, context)
    if reply is None:
        return None
    x, y = (float(v) for v in list(reply)[:2])
    h, w = image.shape[:2]
    return (min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0))
