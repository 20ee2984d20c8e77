"""Metric, gravity-aligned world frame: fit the floor, put it at z = 0, scale by the camera height.

Structure-from-motion fixes the scene only up to a similarity (rotation, translation, scale).
Two facts about hand-held and robot video pin it down: cameras are held roughly upright (so the
mean of the cameras' "down" axes, image y, points along gravity), and they are carried at a
roughly known height above the floor. The floor is the lowest large plane whose normal is near
that gravity hint; making its normal +z, its height 0, and the median camera height the prior
gives a metric world with +z up and the floor at z = 0.
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
    max_tilt_deg: float = 25.0,
    threshold: float | None = None,
    iterations: int = 500,
    seed: int = 0,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Find the floor plane among reconstructed points.

    Candidate planes come from RANSAC on point triples; only planes whose normal is within
    ``max_tilt_deg`` of ``up_hint`` count. Among the horizontal planes that hold at least half
    as many points as the best one, the lowest (along ``up_hint``) is the floor: table tops
    and beds are horizontal too, but above it.

    Args:
        points: N×3 points (any unit).
        up_hint: 3-vector pointing roughly up (against gravity).
        max_tilt_deg: largest angle between a floor normal and ``up_hint`` (degrees).
        threshold: inlier distance (points' unit); default 1 % of the points' spread.
        iterations: RANSAC samples.
        seed: random seed.

    Returns:
        (normal, offset, inliers): unit normal pointing up, ``offset`` such that the plane is
        ``normal @ x == offset``, and an N bool inlier mask.

    Raises:
        PerceptionError: no horizontal plane was found.
    """
    up = up_hint / np.linalg.norm(up_hint)
    n_pts = len(points)
    if n_pts < 3:
        raise PerceptionError("too few 3D points to find the floor: sample more frames with the floor in view")
    heights = points @ up
    spread = float(np.percentile(heights, 95) - np.percentile(heights, 5))
    if threshold is None:
        threshold = 0.01 * max(spread, 1e-9) + 1e-12
    rng = np.random.default_rng(seed)
    cos_max = np.cos(np.radians(max_tilt_deg))
    candidates: list[tuple[int, float, np.ndarray, float]] = []
    for _ in range(iterations):
        a, b, c = points[rng.choice(n_pts, 3, replace=False)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-12:
            continue
        n /= norm
        if n @ up < 0:
            n = -n
        if n @ up < cos_max:
            continue
        d = float(n @ a)
        count = int((np.abs(points @ n - d) < threshold).sum())
        candidates.append((count, d, n, float(np.median(heights[np.abs(points @ n - d) < threshold]))))
    if not candidates:
        raise PerceptionError("no horizontal floor plane found: include frames that show the floor, or check the camera is upright")
    best = max(c[0] for c in candidates)
    strong = [c for c in candidates if c[0] >= 0.5 * best]
    count, d, n, _ = min(strong, key=lambda c: c[3])
    inliers = np.abs(points @ n - d) < threshold
    # Refine by least squares on the inliers (normal = smallest principal direction).
    centre = points[inliers].mean(0)
    _, _, vt = np.linalg.svd(points[inliers] - centre, full_matrices=False)
    n_ref = vt[2] if vt[2] @ up > 0 else -vt[2]
    if n_ref @ up >= cos_max:
        n = n_ref
        d = float(n @ centre)
        inliers = np.abs(points @ n - d) < threshold
    return n, d, inliers


def align_to_floor(
    points: np.ndarray,
    camera_centres: np.ndarray,
    camera_down: np.ndarray,
    camera_forward: np.ndarray,
    *,
    camera_height: float = DEFAULT_CAMERA_HEIGHT,
) -> WorldAlignment:
    """The similarity to a metric world with +z up, the floor at z = 0 and ``camera_height``.

    The origin lies on the floor under the first camera; +y is the first camera's viewing
    direction projected onto the floor, +x is to its right.

    Args:
        points: N×3 reconstructed points (floor among them).
        camera_centres: F×3 camera positions (reconstruction units).
        camera_down: F×3 each camera's image-down axis (its y axis) in reconstruction coordinates.
        camera_forward: F×3 each camera's viewing direction.
        camera_height: the assumed median height of the cameras above the floor (metres).

    Raises:
        PerceptionError: no floor plane was found, or the cameras are not above it.
    """
    up_hint = -camera_down.mean(0)
    if np.linalg.norm(up_hint) < 1e-6:
        raise PerceptionError("cannot tell which way is up (cameras point every way): use a video from an upright camera")
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
