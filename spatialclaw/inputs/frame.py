"""`Frame`: one sampled image of the input, as the kernel and the model see it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled input image.

    Attributes:
        index: frame number in the source (video frame number, image position, or the
            ``<i>`` of an RGB-D folder's ``color/<i>.jpg``).
        time: seconds from the start of the source (``index / fps``; images: position).
        image: H×W×3 uint8 RGB.
    """

    index: int
    time: float
    image: np.ndarray

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            shape = getattr(img, "shape", None)
            dtype = getattr(img, "dtype", None)
            raise ValueError(f"Frame.image must be an H×W×3 uint8 RGB array, got shape {shape} dtype {dtype}")

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])

    def __repr__(self) -> str:
        return f"Frame(index={self.index}, time={self.time:.2f}s, image={self.width}x{self.height})"

    def _repr_png_(self) -> bytes:
        """PNG bytes, so a bare ``frames[3]`` at the end of a cell displays the image."""
        from io import BytesIO

        from PIL import Image

        buf = BytesIO()
        Image.fromarray(self.image).save(buf, format="PNG")
        return buf.getvalue()
