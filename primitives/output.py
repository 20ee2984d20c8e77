"""What the model hands back from a cell: images to look at (`show`) and the answer (`answer`).

Registered like every other primitive, so their prompt text is generated from these signatures
and docstrings; `spatialclaw.primitives.install` puts them into the kernel (``show`` bound to the
kernel context, which draws masks over the kernel's frames: `in_context`). Images
become PNG, or JPEG for photo-like pictures, by `spatialclaw.images`' one rule (`to_image`).
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from spatialclaw.primitives.registry import primitive

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

# Shared with the host (`spatialclaw.kernel.session`): how an answer travels out of the kernel.
ANSWER_MIME = "application/vnd.spatialclaw.answer+json"


def to_image(item: Any, *, lossless: bool = False) -> tuple[str, bytes]:
    """``(MIME type, bytes)`` of what ``show(item)`` sends for a Frame, image array, PIL image,
    matplotlib figure, or object with ``.render()``: photo-like pictures as JPEG, the rest (figures
    among them) as PNG (`spatialclaw.images.encode_for_model`; arrays by its dtype/range rule);
    ``lossless``: always PNG."""
    from spatialclaw.images import encode_for_model, encode_png
    from spatialclaw.inputs.frame import Frame

    if isinstance(item, Frame):
        item = item.image
    if isinstance(item, np.ndarray) or (type(item).__module__.startswith("PIL.") and hasattr(item, "save")):
        return ("image/png", encode_png(item, what="show()")) if lossless else encode_for_model(item, what="show()")
    if hasattr(item, "savefig") and hasattr(item, "canvas"):
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        item.savefig(buf, format="png", bbox_inches="tight")
        plt.close(item)  # shown once here, not again by the inline backend at the end of the cell
        return "image/png", buf.getvalue()
    if callable(getattr(item, "render", None)):
        return to_image(item.render(), lossless=lossless)
    raise TypeError(
        f"show() cannot display a {type(item).__name__}: pass a Frame, an image array, a PIL image, "
        "a matplotlib figure, or an object with .render()"
    )


def in_context(item: Any, context: KernelContext) -> Any:
    """What ``show(item)`` and ``ask_vlm(images=[item])`` display in the kernel of ``context``:
    Masks drawn over the kernel's frames, a Track3D over the kernel's reconstruction of all its
    frames (when it has frames); anything else as it is (an image, or a result whose own
    ``render()`` needs nothing more)."""
    from spatialclaw.primitives.tracks_types import Track3D
    from spatialclaw.primitives.types import Masks

    if isinstance(item, Masks):
        return item.render(images=[f.image for f in context.frames])
    if isinstance(item, Track3D):
        room = context.reconstruct_all() if context.frames and context.reconstruct_all is not None else None
        return item.render(recon=room)
    return item


def to_png(item: Any) -> bytes:
    """PNG bytes of anything `to_image` takes, lossless (e.g. for a ``host_call`` payload, which wants PNG)."""
    return to_image(item, lossless=True)[1]


@primitive(group="output")
def show(*items: Any, caption: str | None = None, context: KernelContext) -> None:
    """Attach images to what you see after this cell.

    Args:
        items: Frames, image arrays (H×W×3 uint8 RGB, floats in [0, 1], or H×W gray), PIL images,
            matplotlib figures, or results with a ``.render()`` method (e.g. a reconstruction's view).
        caption: text printed just before the images.
    """
    from IPython.display import publish_display_data

    images = [to_image(in_context(item, context)) for item in items]
    if caption:
        print(caption, flush=True)
    for mime, data in images:
        publish_display_data({mime: base64.b64encode(data).decode("ascii")})


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"answer() needs a finite number, got {value}")
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    raise TypeError(f"answer() takes a str, int, float, bool or a list of those, got {type(value).__name__}")


@primitive(group="output")
def answer(value: Any) -> None:
    """Give the final answer: an option letter (``"B"``), a number (metres, counts, ...), or text.

    Args:
        value: the answer; a str, int, float, bool, or a list of those.
    """
    from IPython.display import publish_display_data

    plain = _plain(value)
    publish_display_data({ANSWER_MIME: {"value": plain}, "text/plain": f"answer: {plain!r}"})
