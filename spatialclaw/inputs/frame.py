"""`Frame`: one sampled image of the input, as the kernel and the model see it; `InputInfo`: one
of the question's inputs (a video, an image, an image folder, an RGB-D folder); `LoadedInput`: an
input after loading and sampling (`spatialclaw.inputs.load`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from spatialclaw.inputs.rgbd import RGBDLayout

InputKind = Literal["video", "images", "rgbd", "multi", "none"]
PathLike = str | os.PathLike[str]


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


@dataclass
class LoadedInput:
    """An input after loading and sampling.

    Attributes:
        kind: ``"video"``, ``"images"``, ``"rgbd"``, ``"multi"`` (several videos or folders, see
            `load_inputs`), or ``"none"`` (no input given).
        paths: the video file, the image files (all of them, in natural order: ``Frame.index``
            of an image is its position here), or the RGB-D folder (one entry).
        frames: the sampled frames, in source order.
        frames_file: the cached .npz of ``frames`` (read it with ``load_frames``); None for ``"none"``.
        source_fps: frame rate of a video or RGB-D sequence (frames per second); None for images.
        source_frame_count: frames in the source before sampling.
        rgbd: what the RGB-D folder holds, when ``kind == "rgbd"``.
        parts: the question's inputs (one per image of an image list, one per video or folder);
            empty means one input: the whole of ``paths``. ``Frame.source`` indexes it.
    """

    kind: InputKind
    paths: list[Path]
    frames: list[Frame]
    frames_file: Path | None
    source_fps: float | None
    source_frame_count: int
    rgbd: RGBDLayout | None = None
    parts: list[InputInfo] = field(default_factory=list)

    @property
    def inputs(self) -> list[InputInfo]:
        """The inputs the frames came from (the kernel's ``inputs``): ``parts``, or one entry."""
        if self.parts:
            return list(self.parts)
        if self.kind == "none":
            return []
        kind = "image" if self.kind == "images" and len(self.paths) == 1 else self.kind
        name = self.paths[0].name if len(self.paths) == 1 else self.paths[0].parent.name
        return [InputInfo(kind, name, list(range(len(self.frames))))]
