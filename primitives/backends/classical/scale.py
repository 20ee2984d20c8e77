"""Metric, gravity-aligned world frame: fit the floor, put it at z = 0, scale by the camera height.

Structure-from-motion fixes the scene only up to a similarity (rotation, translation, scale).
Two facts about hand-held and robot video pin it down: cameras are held without roll (so their
image x axes are horizontal and "up" is normal to all of them, `gravity_hint`), and they are
carried at a roughly known height above the floor. The floor is the lowest horizontal plane
with many points (`fit_floor`); making its normal +z, its height 0, and the median camera
height the prior gives a metric world with +z up and the floor at z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.errors import PerceptionError

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
    """

    R: np.ndarray
    t: np.ndarray
    scale: float
    floor_inliers: float
    camera_height: float

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """N×3 reconstruction points → N×3 world points (metres)."""
        return self.scale * points @ self.R.T + self.t

    def apply_poses(self, pose: np.ndarray) -> np.ndarray:
        """N×4×4 camera-to-world (reconstruction) → N×4×4 camera-to-world (metric world)."""
        out = pose.copy()
        out[:, :3, :3] = self.R @ pose[:, :3, :3]
        out[:, :3, 3] = self.apply_points(pose[:, :3, 3])
        return out


def _rotation_to_z(up: np.ndarray) -> np.ndarray:
    """A rotation taking the unit vector ``up`` to +z (the smallest one)."""
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(up, z)
    c = float(up @ z)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * (1.0 / (1.0 + c))


def fit_floor(
    points: np.ndarray,
    up_hint: np.ndarray,
    *,
    max_tilt_deg: float = 10.0,
    bin_fraction: float = 0.01,
    min_share: float = 0.3,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Find the floor plane among reconstructed points.

    Along ``up_hint`` a horizontal plane is a peak in the histogram of point heights. Table tops
    and beds make peaks too, but above the floor: the floor is the lowest peak holding at least
    ``min_share`` of the highest one. Its points are then fitted by least squares, and the fitted
    normal is kept if it is within ``max_tilt_deg`` of the hint (else the hint is the normal).

    Args:
        points: N×3 points (any unit).
        up_hint: 3-vector pointing up (against gravity), e.g. from `gravity_hint`.
        max_tilt_deg: largest correction of the hint by the fitted plane (degrees).
        bin_fraction: histogram bin width as a fraction of the points' height spread.
        min_share: a peak this fraction of the highest one counts as a horizontal plane.

    Returns:
        (normal, offset, inliers): unit normal pointing up, ``offset`` such that the plane is
        ``normal @ x == offset``, and an N bool inlier mask.

    Raises:
        PerceptionError: too few points to find the floor.
    """
    up = up_hint / np.linalg.norm(up_hint)
    if len(points) < 10:
        raise PerceptionError("too few 3D points to find the floor: sample more frames with the floor in view")
    heights = points @ up
    lo, hi = np.percentile(heights, [0.5, 99.5])
    width = max(bin_fraction * (hi - lo), 1e-12)
    counts, edges = np.histogram(heights, bins=np.arange(lo, hi + width, width))
    smooth = np.convolve(counts, np.ones(3), mode="same")
    peaks = np.flatnonzero(smooth >= min_share * smooth.max())
    floor_h = 0.5 * (edges[peaks[0]] + edges[peaks[0] + 1])
    inliers = np.abs(heights - floor_h) <= 1.5 * width
    normal, offset = up, float(np.median(heights[inliers]))
    centre = points[inliers].mean(0)
    _, _, vt = np.linalg.svd(points[inliers] - centre, full_matrices=False)
    fitted = vt[2] if vt[2] @ up > 0 else -vt[2]
    if fitted @ up >= np.cos(np.radians(max_tilt_deg)):
        normal, offset = fitted, float(fitted @ centre)
        inliers = np.abs(points @ normal - offset) <= 1.5 * width
    return normal, offset, inliers


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
        raise PerceptionError("cannot tell which way is up (cameras point every way): use a video from an upright camera")
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
        PerceptionError: no floor plane was found, or the cameras are not above it.
    """
    up_hint = gravity_hint(camera_rotations)
    camera_forward, camera_down = camera_rotations[:, :, 2], camera_rotations[:, :, 1]
    n, d, inliers = fit_floor(points, up_hint)
    heights = camera_centres @ n - d
    h_med = float(np.median(heights))
    if h_med <= 0:
        raise PerceptionError("the fitted floor is not below the cameras: include frames that show the floor")
    R = _rotation_to_z(n)
    fwd = R @ camera_forward[0]
    fwd[2] = 0.0
    if np.linalg.norm(fwd) < 1e-6:
        fwd = R @ camera_down[0]
        fwd[2] = 0.0
    fwd /= np.linalg.norm(fwd)
    yaw = np.arctan2(fwd[0], fwd[1])  # rotate about z so that fwd becomes +y
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    R = Rz @ R
    scale = camera_height / h_med
    origin = scale * R @ camera_centres[0]
    t = -np.array([origin[0], origin[1], scale * d])
    return WorldAlignment(R=R, t=t, scale=scale, floor_inliers=float(inliers.mean()), camera_height=h_med)
