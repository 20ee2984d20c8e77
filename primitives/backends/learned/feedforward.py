"""Feed-forward reconstruction: Depth Anything 3's poses, intrinsics and depth of all frames from
one pass (`da3.DA3Reconstructor`), put in the world of design.md.

DA3's any-view models give one consistent geometry in an arbitrary scale, in the first camera's
frame. The floor of its points (`scale.align_to_floor`, as the classical backend does) gives
+z up, z = 0 and a scale from the camera-height prior (``scale_source`` ``"floor+camera-height"``,
``"unknown"`` when the floor is weak); the learned reconstruction then takes the metres of a
metric depth model where one is on disk (`reconstruction.reconstruct`). No reprojection error
checks the poses: ``quality.warnings`` says the geometry is the network's alone, and flags
frames whose depth it is unsure of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Reconstruction

from .da3 import ViewGeometry, package_available
from .pool import adapter_for, chosen_model

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

MIN_CONFIDENT_SHARE = 0.3
"""A frame where less than this share of the pixels is as confident as the scene's median pixel
is reported (its depth, and so its pose, is doubtful)."""

POINTS_PER_FRAME = 4000
"""Confident points per frame that the floor is fitted on."""

NETWORK_ONLY_TEXT = (
    "poses and depth come from one forward pass of Depth Anything 3: nothing re-measures them "
    "(no reprojection check), so treat fine distances as approximate"
)


def ready(context: KernelContext) -> bool:
    """Whether Depth Anything 3 can serve here: its package installed and a checkpoint on disk."""
    return package_available() and chosen_model("reconstruct", context) is not None


def _confident_points(geometry: ViewGeometry) -> tuple[np.ndarray, float]:
    """World points of each frame's pixels at least as confident as the median pixel (about
    `POINTS_PER_FRAME` per frame, model units), and that median confidence."""
    from spatialclaw.primitives import math3d

    median = float(np.median(geometry.confidence))
    clouds = []
    for i, depth in enumerate(geometry.depth):
        keep = (geometry.confidence[i] >= median) & np.isfinite(depth) & (depth > 0)
        stride = max(1, int(np.sqrt(keep.size / POINTS_PER_FRAME)))
        clouds.append(math3d.backproject(np.where(keep, depth, 0.0), geometry.K[i], geometry.pose[i], stride=stride))
    return np.concatenate(clouds), median


def _path_length(centres: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(centres, axis=0), axis=1).sum()) if len(centres) > 1 else 0.0


def to_world(
    geometry: ViewGeometry, images: np.ndarray, camera_height: float, camera_height_given: bool = False
) -> Reconstruction:
    """A `Reconstruction` of DA3's geometry, levelled and scaled by the floor it shows.

    Args:
        geometry: DA3's output at the frames' pixels.
        images: (N, H, W, 3) uint8 frames.
        camera_height: the assumed median camera height above the floor (metres).
        camera_height_given: the height was told, not assumed (no caveat about it then).

    Raises:
        PerceptionError: the points show nothing below the cameras to stand on.
    """
    from spatialclaw.primitives.backends.classical import gates, scale

    points, median = _confident_points(geometry)
    align = scale.align_to_floor(points, geometry.pose[:, :3, 3], geometry.pose[:, :3, :3], camera_height=camera_height)
    pose = align.apply_poses(geometry.pose)
    depth = (geometry.depth * align.scale).astype(np.float32)
    confidence = None if align.floor is None else align.floor.confidence
    warnings = [NETWORK_ONLY_TEXT]
    floor = gates.weak_floor(confidence, camera_height)
    if floor is not None:
        warnings.append(floor.message)
    elif (height := gates.assumed_camera_height(camera_height, camera_height_given)) is not None:
        warnings.append(height.message)
    doubtful = [i for i, c in enumerate(geometry.confidence) if float(np.mean(c >= median)) < MIN_CONFIDENT_SHARE]
    if doubtful:
        warnings.append(f"Depth Anything 3 is unsure of the depth of frames {doubtful}: their poses and depth may be off")
    width = depth.shape[2]
    focal = float(np.median(geometry.K[:, 0, 0]))
    quality = ReconstructionQuality(
        registered=len(depth), total=len(depth), scale_source="unknown" if floor is not None else "floor+camera-height",
        warnings=warnings, focal_px=focal, fov_deg=float(np.degrees(2 * np.arctan(0.5 * width / focal))),
        path_m=_path_length(pose[:, :3, 3]), floor_confidence=confidence,
    )
    info = {"poses": "Depth Anything 3 (one forward pass)", "depth": "Depth Anything 3", "floor_confidence": confidence,
            "camera_height_m": camera_height, "median_confidence": median}
    return Reconstruction(depth=depth, pose=pose, K=geometry.K, images=images, backend="learned", info=info,
                          valid=np.ones(len(depth), bool), quality=quality)


def reconstruct(frames: list[Frame], context: KernelContext) -> Reconstruction:
    """Depth Anything 3 over ``frames`` (one video's frames, one size), in the metric world by the
    floor and the camera-height option (``context.options["camera_height"]``, metres)."""
    from spatialclaw.primitives.backends.classical import _camera_height

    geometry = adapter_for("reconstruct", context)([f.image for f in frames])
    images = np.stack([f.image for f in frames])
    return to_world(geometry, images, _camera_height(context), "camera_height" in context.options)
