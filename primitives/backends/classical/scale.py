"""Metric, gravity-aligned world frame: fit the floor, put it at z = 0, scale by the camera height.

Structure-from-motion fixes the scene only up to a similarity (rotation, translation, scale).
Two facts about hand-held and robot video pin it down: cameras are held without roll (so their
image x axes are horizontal and "up" is normal to all of them, `gravity_hint`), and they are
carried at a roughly known height above the floor. The floor is the lowest horizontal plane
with many points (`spatialclaw.primitives.floor.find_floor`, with a confidence); making its
normal +z, its height 0, and the median camera height the prior gives a metric world with +z up
and the floor at z = 0. Without a floor the cameras' gravity hint levels the world and the
lowest points stand in for the floor: the scale is then a guess (``WorldAlignment.floor`` is
None or has a low confidence, and the reconstruction's quality says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives import math3d
from spatialclaw.primitives.floor import Floor, find_floor

DEFAULT_CAMERA_HEIGHT = 1.5
"""Metres above the floor at which a hand-held camera is assumed to be carried."""


@dataclass
class WorldAlignment:
    """The similarity that takes reconstruction coordinates to the metric world.

    ``x_world = scale * R @ x_recon + t``.

    Attributes:
        R: 3×3 rotation.
        t: 3-vector translation (metres).
        scale: metres per reconstruction unit.
        floor_inliers: fraction of the points that lie on the fitted floor plane.
        camera_height: median camera height above the floor before scaling (reconstruction units).
        floor: the fitted floor (in reconstruction coordinates), None when none was found or
            the cameras were not above it (then the lowest points stood in for it).
    """

    R: np.ndarray
    t: np.ndarray
    scale: float
    floor_inliers: float
    camera_height: float
    floor: Floor | None = None

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """N×3 reconstruction points → N×3 world points (metres)."""
        return self.scale * points @ self.R.T + self.t

    def apply_poses(self, pose: np.ndarray) -> np.ndarray:
        """N×4×4 camera-to-world (reconstruction) → N×4×4 camera-to-world (metric world)."""
        out = pose.copy()
        out[:, :3, :3] = self.R @ pose[:, :3, :3]
        out[:, :3, 3] = self.apply_points(pose[:, :3, 3])
        return out


def gravity_hint(camera_rotations: np.ndarray) -> np.ndarray:
    """A unit vector pointing roughly up, from the orientations of upright cameras.

    A camera held without roll keeps its x axis (image right) horizontal, so the x axes of a
    camera that turned span the horizontal plane and "up" is their common normal; its sign is
    the one opposite the cameras' image-down axes. When the camera barely turned (the x axes do
    not span a plane), the mean image-up axis is used instead (tilted by the mean pitch).

    Args:
        camera_rotations: F×3×3 camera-to-world rotations (columns: x right, y down, z forward).

    Raises:
        PerceptionError: the cameras point every way, so "up" is unknown.
    """
    down = camera_rotations[:, :, 1].mean(0)
    if np.linalg.norm(down) < 1e-6:
        raise PerceptionError.no_up()
    rights = camera_rotations[:, :, 0]
    _, sv, vt = np.linalg.svd(rights, full_matrices=False)
    if len(rights) >= 2 and sv[1] > 0.2 * sv[0]:
        up = vt[2]
    else:
        up = -down
    up = up / np.linalg.norm(up)
    return up if up @ down < 0 else -up


def align_to_floor(
    points: np.ndarray,
    camera_centres: np.ndarray,
    camera_rotations: np.ndarray,
    *,
    camera_height: float = DEFAULT_CAMERA_HEIGHT,
) -> WorldAlignment:
    """The similarity to a metric world with +z up, the floor at z = 0 and ``camera_height``.

    The origin lies on the floor under the first camera; +y is the first camera's viewing
    direction projected onto the floor, +x is to its right.

    Args:
        points: N×3 reconstructed points (floor among them).
        camera_centres: F×3 camera positions (reconstruction units).
        camera_rotations: F×3×3 camera-to-world rotations (see `gravity_hint`).
        camera_height: the assumed median height of the cameras above the floor (metres).

    Raises:
        PerceptionError: every scene point is above the cameras' median height (nothing to stand on).
    """
    up_hint = gravity_hint(camera_rotations)
    camera_forward, camera_down = camera_rotations[:, :, 2], camera_rotations[:, :, 1]
    floor = find_floor(points, up_hint)
    if floor is not None and np.median(floor.heights(camera_centres)) > 0:
        n, d = floor.normal, floor.offset
    else:  # no floor under the cameras: level by gravity, the lowest points stand in for the floor
        floor = None
        n = up_hint
        d = float(np.percentile(np.asarray(points, dtype=np.float64) @ n, 1.0)) if len(points) else 0.0
    heights = camera_centres @ n - d
    h_med = float(np.median(heights))
    if not h_med > 0:
        raise PerceptionError.no_floor_below()
    R = math3d.level_rotation(n, camera_forward[0], camera_down[0])
    scale = camera_height / h_med
    origin = scale * R @ camera_centres[0]
    t = -np.array([origin[0], origin[1], scale * d])
    share = floor.share if floor is not None else 0.0
    return WorldAlignment(R=R, t=t, scale=scale, floor_inliers=share, camera_height=h_med, floor=floor)
