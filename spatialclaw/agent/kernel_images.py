"""Images the kernel sends, made safe for the model: every PNG decoded with limits
(`spatialclaw.images`) before it goes out, a notice for each one refused."""

from __future__ import annotations

import binascii
from typing import Any

from spatialclaw.agent.steps import image_for_model
from spatialclaw.images import ImageRejected, decode_png, png_size
from spatialclaw.models.base import Image

IMAGE_REJECTED_TEXT = "image {k} of this cell was not sent to you: {why}"


def untrusted_image(encoded: Any, max_side: int) -> Image:
    """A base64 PNG from the kernel, decoded with limits (`spatialclaw.images`) and re-encoded for the model."""
    if not isinstance(encoded, str):
        raise ValueError(f"images must be base64 PNG strings, got {type(encoded).__name__}")
    try:
        data = binascii.a2b_base64(encoded, strict_mode=True)
    except ValueError:
        raise ValueError("an image is not valid base64") from None
    return Image.from_pil(decode_png(data), max_side=max_side)


def images_for_model(pngs: list[bytes], max_side: int) -> tuple[list[bytes], list[Image], list[str]]:
    """The cell's PNGs that are within the limits and decode, each as sent to the model, and a
    notice for each one refused. Each is decoded once: when `image_for_model` re-encodes it; when
    it would go out as is, by `decode_png`."""
    kept: list[bytes] = []
    sent: list[Image] = []
    notices: list[str] = []
    for k, png in enumerate(pngs, 1):
        try:
            png_size(png)
            image = image_for_model(png, max_side)
            if image.data is png:
                decode_png(png)
        except Exception as err:  # untrusted bytes: whatever the decoder raises refuses the image
            why = str(err) if isinstance(err, ImageRejected) else f"it cannot be decoded ({type(err).__name__}: {err})"
            notices.append(IMAGE_REJECTED_TEXT.format(k=k, why=why))
            continue
        kept.append(png)
        sent.append(image)
    return kept, sent, notices
