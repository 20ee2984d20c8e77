"""One image: metric depth from the learned depth model alone, the camera levelled by the floor.

A single photo has no camera motion, so structure-from-motion cannot run; a *metric* depth
model still gives every pixel a distance in metres. The camera is put in the world of
design.md from the picture itself: the floor it sees (`level_camera`, the model's metres kept,
no camera-height prior) gives +z up and z = 0; the focal length comes from the
model where it estimates one (Depth Pro), else from a 60° field of view. The quality record says
all of this: scale ``"metric-depth"``, and warnings for what rests on one view alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import math3d
from spatialclaw.primitives.floor import Floor, find_floor
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Reconstruction

from .pool import adapter_for

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

MAX_PITCH_DEG = 45.0
"""Largest camera pitch (degrees, up or down) at which the floor of one image is looked for."""

PITCH_STEP_DEG = 3.0
"""Spacing of the pitches tried (degrees); the floor fit corrects each by a little more."""

DEFAULT_FOV_DEG = 60.0
"""Horizontal field of view assumed when the depth model gives no focal length (degrees)."""

ONE_VIEW_TEXT = (
    "one image: depth and metric scale come from the monocular depth model alone, with no second "
    "view to check them (expect errors of about 10% in distances and sizes); there is no camera motion"
)
FOCAL_ASSUMED_TEXT = (
    f"the focal length is assumed (a {DEFAULT_FOV_DEG:.0f}° field of view): sizes and angles away from "
    "the image centre may be off by several percent"
)
NO_FLOOR_TEXT = (
    "no floor was found in the image: the world is levelled by assuming an upright camera, and z = 0 is "
    "the lowest visible point rather than the floor, so heights above the floor are uncertain"
)


def depth_and_focal(frame: Frame, context: KernelContext) -> tuple[np.ndarray, float | None, bool]:
    """The depth model on one frame: (H×W float32 depth, focal length in pixels or None, metric)."""
    estimator = adapter_for("depth", context)
    if hasattr(estimator, "with_focal"):
        depth, focal = estimator.with_focal([frame.image])[0]
    else:
        depth, focal = estimator([frame.image])[0], None
    return np.asarray(depth, np.float32), focal, bool(getattr(estimator, "metric", False))


def _floor_over_pitches(points: np.ndarray) -> Floor | None:
    """The floor under the camera (the plane holding most points) over camera pitches of up to
    ±`MAX_PITCH_DEG`: one camera gives no gravity, and the floor fit only corrects a hint by a
    few degrees, so the hint is swept about the camera's x axis (roll is left to the fit)."""
    best: Floor | None = None
    for pitch in np.radians(np.arange(-MAX_PITCH_DEG, MAX_PITCH_DEG + 1e-9, PITCH_STEP_DEG)):
        floor = find_floor(points, np.array([0.0, -math.cos(pitch), -math.sin(pitch)]), max_tilt_deg=PITCH_STEP_DEG + 2)
        if floor is not None and -floor.offset > 0 and (best is None or floor.share > best.share):
            best = floor
    return best


def level_camera(points: np.ndarray) -> tuple[np.ndarray, Floor | None]:
    """The camera-to-world pose (4×4) that puts (N, 3) camera-frame points (metres) in the world of
    design.md: the floor they show at z = 0 with +z up (pitch and roll from the floor, the camera
    pitched up to `MAX_PITCH_DEG`), +y the camera's view on the floor; the
    floor found, or None (then the camera is taken as upright and the lowest points as floor).

    Raises:
        PerceptionError: no point lies below the camera, so there is nothing to stand on.
    """
    image_up = np.array([0.0, -1.0, 0.0])
    floor = _floor_over_pitches(points)
    if floor is not None:
        up, offset = floor.normal, floor.offset
    else:
        floor, up = None, image_up
        offset = float(np.percentile(points @ up, 1.0)) if len(points) else 0.0
    if not -offset > 0:
        raise PerceptionError.no_floor_in_image()
    pose = np.eye(4)
    pose[:3, :3] = math3d.level_rotation(up, np.array([0.0, 0.0, 1.0]))
    pose[2, 3] = -offset
    return pose, floor


def reconstruct_one(frame: Frame, context: KernelContext) -> Reconstruction:
    """A metric, levelled `Reconstruction` of one image (one entry) from monocular depth.

    Raises:
        PerceptionError: the depth model is relative (no metres), or it sees nothing in front of
            the camera.
    """
    import cv2

    depth, focal, metric = depth_and_focal(frame, context)
    if not metric:
        raise PerceptionError.relative_depth_only()
    h, w = frame.image.shape[:2]
    if depth.shape != (h, w):
        depth = cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR)
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float32)
    if not depth.any():
        raise PerceptionError.nothing_in_view()
    warnings = [ONE_VIEW_TEXT]
    if focal is None or not math.isfinite(focal) or focal <= 0:
        focal = 0.5 * w / math.tan(math.radians(DEFAULT_FOV_DEG) / 2)
        warnings.append(FOCAL_ASSUMED_TEXT)
    K = np.array([[focal, 0.0, w / 2], [0.0, focal, h / 2], [0.0, 0.0, 1.0]])
    points = math3d.backproject(depth, K, np.eye(4), stride=max(1, min(h, w) // 120))
    pose, floor = level_camera(points)
    if floor is None:
        warnings.append(NO_FLOOR_TEXT)
    quality = ReconstructionQuality(
        registered=1, total=1, scale_source="metric-depth", warnings=warnings, focal_px=focal,
        fov_deg=math.degrees(2 * math.atan(0.5 * w / focal)), path_m=0.0,
        floor_confidence=None if floor is None else floor.confidence,
    )
    info = {"depth": "learned, monocular (one image)", "depth_metric_model": True, "camera_height_m": float(pose[2, 3])}
    return Reconstruction(depth=depth[None], pose=pose[None], K=K[None],
                          images=frame.image[None], backend="learned", info=info,
                          valid=np.ones(1, bool), quality=quality)
