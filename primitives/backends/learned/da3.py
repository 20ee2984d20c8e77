"""Depth Anything 3 (``depth-anything/DA3-BASE``, ``DA3-SMALL``): poses, intrinsics and depth of
all frames from one forward pass, through the ``depth-anything-3`` package (an optional extra).

``DepthAnything3.from_pretrained(folder).inference(images)`` returns, at its processing
resolution, depth (N, h, w), a confidence (N, h, w), world-to-camera extrinsics (N, 3, 4) and
intrinsics (N, 3, 3), all frames in the first camera's frame and, for the any-view models, in one
arbitrary scale. This adapter brings them to the frames' pixels: intrinsics scaled per axis,
depth and confidence resized, extrinsics inverted to camera-to-world. The package is imported
only here, when a checkpoint loads; its checkpoints (``config.json`` naming a ``model_name``
such as ``"da3-base"``, and ``model.safetensors``) are found offline like every other.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.errors import PerceptionError

from .base import Adapter

MODEL_TYPE = "depth_anything_3"
"""The ``model_type`` this backend gives a checkpoint whose ``config.json`` names a DA3 ``model_name``."""

PROCESS_RESOLUTION = 504
"""The longer side (pixels) DA3 processes frames at: its own default."""

def package_available() -> bool:
    """Whether ``depth_anything_3`` can be imported here (checked without importing it)."""
    return importlib.util.find_spec("depth_anything_3") is not None


@dataclass(frozen=True)
class ViewGeometry:
    """What Depth Anything 3 says about N frames of one scene, at the frames' pixels.

    Attributes:
        depth: (N, H, W) float32 depth along the optical axis, in the model's units: one
            arbitrary scale shared by all frames (metres only for metric models).
        confidence: (N, H, W) float32, larger is surer (unitless).
        pose: (N, 4, 4) float64 camera-to-world (x right, y down, z forward), the world being
            the first camera's frame in the same units as ``depth``.
        K: (N, 3, 3) float64 intrinsics in pixels of the frames.
    """

    depth: np.ndarray
    confidence: np.ndarray
    pose: np.ndarray
    K: np.ndarray


def to_frame_pixels(prediction: Any, height: int, width: int) -> ViewGeometry:
    """DA3's prediction (at its processing resolution) brought to ``height`` × ``width`` frames.

    Args:
        prediction: has ``depth`` and ``conf`` (N, h, w), ``extrinsics`` (N, 3, 4) world-to-camera
            and ``intrinsics`` (N, 3, 3) in pixels of the h × w processed images.
    """
    import cv2

    depth = np.asarray(prediction.depth, np.float32)
    h, w = depth.shape[1:]
    confidence = np.asarray(prediction.conf if prediction.conf is not None else np.ones_like(depth), np.float32)
    resize = lambda a: cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    K = np.asarray(prediction.intrinsics, np.float64).copy()
    K[:, 0, :] *= width / w
    K[:, 1, :] *= height / h
    world_to_camera = np.tile(np.eye(4), (len(depth), 1, 1))
    world_to_camera[:, :3, :] = np.asarray(prediction.extrinsics, np.float64)
    return ViewGeometry(
        depth=np.stack([resize(d) for d in depth]), confidence=np.stack([resize(c) for c in confidence]),
        pose=np.linalg.inv(world_to_camera), K=K,
    )


class DA3Reconstructor(Adapter[ViewGeometry]):
    """Camera poses, intrinsics and depth of all frames at once with Depth Anything 3.

    Calling it runs every frame through one forward pass (the views inform each other), so
    ``batch_size`` does not apply. Frames must share one size.

    Example:
        >>> reconstructor = DA3Reconstructor("depth-anything/DA3-BASE")  # doctest: +SKIP
        >>> geometry = reconstructor([f.image for f in frames])  # doctest: +SKIP
        >>> geometry.pose.shape  # doctest: +SKIP
        (16, 4, 4)
    """

    task = "reconstruct"
    model_types = (MODEL_TYPE,)

    def __init__(self, model: str | Path, *, process_resolution: int = PROCESS_RESOLUTION, **options: Any) -> None:
        self.process_resolution = int(process_resolution)
        super().__init__(model, **options)

    def __call__(self, images: list[Any]) -> ViewGeometry:
        """The geometry of ``images`` (H×W×3 uint8 RGB, one size, in order), all in one pass."""
        import torch

        from spatialclaw.images import as_rgb

        frames = [as_rgb(image) for image in images]
        if len({f.shape for f in frames}) != 1:
            raise PerceptionError.da3_frame_sizes()
        inputs = self.preprocess(frames, [None] * len(frames))
        with torch.inference_mode():
            return self.postprocess(self._forward(inputs), inputs)[0]

    def _load(self, path: Path) -> tuple[Any, Any]:
        if not package_available():
            raise PerceptionError.da3_missing()
        with contextlib.redirect_stdout(io.StringIO()):  # its logger prints to stdout: the model's cell output
            from depth_anything_3.api import DepthAnything3

            return DepthAnything3.from_pretrained(str(path)), None

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        return {"images": images, "image_size": images[0].shape[:2]}

    def _forward(self, inputs: dict[str, Any]) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return self.model.inference(inputs["images"], process_res=self.process_resolution)

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[ViewGeometry]:
        height, width = inputs["image_size"]
        return [to_frame_pixels(outputs, height, width)]
