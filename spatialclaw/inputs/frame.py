"""`Frame`: one sampled image of the input, as the kernel and the model see it; `InputInfo`: one
of the question's inputs (a video, an image, an image folder, an RGB-D folder)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled input image.

    Attributes:
        index: frame number in the source (video frame number, image position, or the
            ``<i>`` of an RGB-D folder's ``color/<i>.jpg``).
        time: seconds from the start of the source (``index / fps``; images: position).
        image: H×W×3 uint8 RGB.
        source: which of the question's inputs the frame came from: its position in
            ``inputs`` (0 when there is one input).
    """

    index: int
    time: float
    image: np.ndarray
    source: int = 0

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
        source = f", source={self.source}" if self.source else ""
        return f"Frame(index={self.index}, time={self.time:.2f}s, image={self.width}x{self.height}{source})"

    def _repr_png_(self) -> bytes:
        """PNG bytes, so a bare ``frames[3]`` at the end of a cell displays the image."""
        from io import BytesIO

        from PIL import Image

        buf = BytesIO()
        Image.fromarray(self.image).save(buf, format="PNG")
        return buf.getvalue()


@dataclass(frozen=True)
class InputInfo:
    """One input of the question, as the kernel's ``inputs`` list describes it.

    Attributes:
        kind: ``"video"``, ``"image"``, ``"images"`` (a folder or sequence of images) or ``"rgbd"``.
        name: the input's name (its file or folder name, or the benchmark's name for it).
        frames: positions in ``frames`` of this input's frames, in order.
    """

    kind: str
    name: str
    frames: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the kernel manifest's ``inputs`` entries)."""
        return {"kind": self.kind, "name": self.name, "frames": list(self.frames)}

    def __repr__(self) -> str:
        span = f"frames[{self.frames[0]}:{self.frames[-1] + 1}]" if self.frames else "no frames"
        return f"InputInfo(kind={self.kind!r}, name={self.name!r}, {span})"
