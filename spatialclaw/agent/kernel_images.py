"""Images the kernel sends, made safe for the model: every image checked with limits
(`spatialclaw.images`) before it goes out, a notice for each one refused."""

from __future__ import annotations

import binascii
from typing import Any

from spatialclaw.agent.steps import image_for_model
from spatialclaw.images import ImageRejected, decode_image
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
    return Image.from_pil(decode_image(data), max_side=max_side)


def images_for_model(images: list[bytes], max_side: int) -> tuple[list[bytes], list[Image], list[str]]:
    """The cell's images (PNG or JPEG bytes) that are within the limits and well-formed, each as
    sent to the model, and a notice for each one refused.

    Every image's structure is checked within the pixel and byte limits first (`image_size`, in
    `image_for_model`). A JPEG within ``max_side`` goes out as it came, after the walk over its
    markers; a PNG going out as it came is decoded once (`decode_image`) to prove its pixel data
    is sound; any other image is decoded once when it is re-encoded.
    """
    kept: list[bytes] = []
    sent: list[Image] = []
    notices: list[str] = []
    for k, data in enumerate(images, 1):
        try:
            image = image_for_model(data, max_side)
            if image.data is data and image.mime == "image/png":
                decode_image(data)
        except Exception as err:  # untrusted bytes: whatever the decoder raises refuses the image
            why = str(err) if isinstance(err, ImageRejected) else f"it cannot be decoded ({type(err).__name__}: {err})"
            notices.append(IMAGE_REJECTED_TEXT.format(k=k, why=why))
            continue
        kept.append(data)
        sent.append(image)
    return kept, sent, notices
