"""Small 3D geometry routines shared by the result types, the backends and the primitives.

Conventions: camera axes x right, y down, z forward; poses are 4×4 camera-to-world; the world
frame is metric with +z up and the floor at z = 0. Everything is numpy; scipy is imported
inside the functions that need it.
"""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives import lens


def as_points(points: np.ndarray, name: str = "points") -> np.ndarray:
    """``points`` as an (N, 3) float64 array; a single (3,) point becomes (1, 3).

    Raises:
        ValueError: the array is not (N, 3) or (3,).
    """
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must be an (N, 3) array of metres, got shape {arr.shape}")
    return arr


def backproject(
    depth: np.ndarray,
    K: np.ndarray,
    pose: np.ndarray,
    mask: np.ndarray | None = None,
    stride: int = 1,
    distortion: np.ndarray | None = None,
) -> np.ndarray:
    """World points of the valid depth pixels of one frame.

    Args:
        depth: H×W metres along the camera z axis; 0, negative or non-finite = no measurement.
        K: 3×3 intrinsics (pixels).
        pose: 4×4 camera-to-world.
        mask: optional H×W bool; only these pixels.
        stride: take every ``stride``-th pixel in x and y.
        distortion: the lens's radial (k1, k2) (`lens`); None = pinhole.

    Returns:
        (N, 3) float64 world points, row-major pixel order.

    >>> d = np.full((2, 2), 2.0, np.float32)
    >>> backproject(d, np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]), np.eye(4))[0]
    array([-1., -1.,  2.])
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be H×W, got shape {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != depth.shape:
            raise ValueError(f"mask shape {mask.shape} differs from depth shape {depth.shape}")
        valid &= mask
    if stride > 1:
        sub = np.zeros_like(valid)
        sub[::stride, ::stride] = True
        valid &= sub
    v, u = np.nonzero(valid)
    z = depth[v, u].astype(np.float64)
    K = np.asarray(K, dtype=np.float64)
    if lens.radial_terms(distortion) is None:
        x = (u - K[0, 2]) / K[0, 0] * z
        y = (v - K[1, 2]) / K[1, 1] * z
    else:
        rays = lens.pixel_rays(np.stack([u, v], axis=1), K, distortion)
        x, y = rays[:, 0] * z, rays[:, 1] * z
    cam = np.stack([x, y, z], axis=1)
    pose = np.asarray(pose, dtype=np.float64)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def project(
    points: np.ndarray, K: np.ndarray, pose: np.ndarray, distortion: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of world points in one camera.

    Args:
        points: (N, 3) world points, metres.
        K: 3×3 intrinsics.
        pose: 4×4 camera-to-world.
        distortion: the lens's radial (k1, k2) (`lens`); None = pinhole.

    Returns:
        ``(uv, z)``: (N, 2) pixel coordinates (x right, y down; NaN for points at or behind the
        camera, or past a barrel lens's fold) and (N,) depth along the camera's z axis in metres.
    """
    pts = as_points(points)
    pose = np.asarray(pose, dtype=np.float64)
    R, t = pose[:3, :3], pose[:3, 3]
    cam = (pts - t) @ R
    z = cam[:, 2]
    uv = np.full((len(pts), 2), np.nan)
    front = z > 1e-9
    K = np.asarray(K, dtype=np.float64)
    if lens.radial_terms(distortion) is None:
        uv[front, 0] = K[0, 0] * cam[front, 0] / z[front] + K[0, 2]
        uv[front, 1] = K[1, 1] * cam[front, 1] / z[front] + K[1, 2]
    else:
        uv[front] = lens.ray_pixels(cam[front, :2] / z[front, None], K, distortion)
    return uv, z


def voxel_downsample(points: np.ndarray, voxel: float) -> np.ndarray:
    """One point per occupied voxel (the mean of the points in it).

    Args:
        points: (N, 3) metres.
        voxel: voxel edge, metres.

    Returns:
        (M, 3) float64, M <= N.
    """
    pts = as_points(points)
    if len(pts) == 0 or voxel <= 0:
        return pts
    _, inverse, counts = np.unique(voxel_keys(pts, voxel), return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    out = np.zeros((len(counts), 3))
    np.add.at(out, inverse, pts)
    return out / counts[:, None]


def voxel_keys(points: np.ndarray, voxel: float) -> np.ndarray:
    """(N,) int64 key of each point's voxel (edge ``voxel`` metres); equal keys = same voxel.

    Coordinates must lie within ±2^20 voxels of the origin (±10 km at 1 cm).
    """
    k = np.floor(np.asarray(points, dtype=np.float64) / voxel).astype(np.int64) + (1 << 20)
    return (k[:, 0] << 42) | (k[:, 1] << 21) | k[:, 2]


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest 3×3 rotation taking direction ``a`` to direction ``b``."""
    a = np.asarray(a, dtype=np.float64) / np.linalg.norm(a)
    b = np.asarray(b, dtype=np.float64) / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1 - c) / s**2)


def level_rotation(up: np.ndarray, forward: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """The 3×3 rotation taking ``up`` to +z and ``forward``'s horizontal part to +y (``fallback``'s
    where ``forward`` is vertical; no turn about z when both are).

    >>> level_rotation(np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])).round(6).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]
    """
    R = rotation_between(up, np.array([0.0, 0.0, 1.0]))
    yaw = 0.0
    for direction in (forward, fallback):
        if direction is None:
            continue
        horizontal = R @ np.asarray(direction, dtype=np.float64)
        if np.hypot(horizontal[0], horizontal[1]) > 1e-6:
            yaw = float(np.arctan2(horizontal[0], horizontal[1]))
            break
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ R


def fit_plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares plane through points: unit ``normal`` (3,) and ``offset`` with normal·p + offset = 0."""
    pts = as_points(points)
    centroid = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - centroid, full_matrices=False)
    normal = vt[-1]
    return normal, float(-normal @ centroid)


def ransac_plane(
    points: np.ndarray,
    *,
    threshold: float = 0.02,
    iterations: int = 300,
    up: np.ndarray | None = None,
    max_tilt_deg: float = 30.0,
    seed: int = 0,
) -> tuple[np.ndarray, float, np.ndarray]:
    """The plane with the most inliers, optionally only among planes near-perpendicular to ``up``.

    Args:
        points: (N, 3) metres.
        threshold: inlier distance, metres.
        iterations: random 3-point hypotheses.
        up: if given, only planes whose normal is within ``max_tilt_deg`` of ±up count; the
            returned normal points along +up.
        max_tilt_deg: see ``up``.
        seed: random seed (the result is deterministic for a seed).

    Returns:
        ``(normal, offset, inliers)``: unit (3,) normal, offset (normal·p + offset = 0), (N,) bool.
        The normal and offset are refitted by least squares on the inliers, four times.

    Raises:
        ValueError: fewer than 3 points or no hypothesis satisfied the ``up`` constraint.
    """
    pts = as_points(points)
    if len(pts) < 3:
        raise ValueError("a plane needs at least 3 points")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pts), size=(iterations, 3))
    p0, p1, p2 = pts[idx[:, 0]], pts[idx[:, 1]], pts[idx[:, 2]]
    normals = np.cross(p1 - p0, p2 - p0)
    norms = np.linalg.norm(normals, axis=1)
    ok = norms > 1e-9
    normals[ok] /= norms[ok, None]
    if up is not None:
        u = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
        ok &= np.abs(normals @ u) >= np.cos(np.radians(max_tilt_deg))
    if not ok.any():
        raise ValueError("no plane hypothesis satisfied the orientation constraint")
    normals, p0 = normals[ok], p0[ok]
    offsets = -np.einsum("ij,ij->i", normals, p0)
    sample = pts if len(pts) <= 20000 else pts[rng.choice(len(pts), 20000, replace=False)]
    counts = (np.abs(sample @ normals.T + offsets) < threshold).sum(axis=0)
    best = int(np.argmax(counts))
    normal, offset = normals[best], offsets[best]
    for _ in range(4):
        inliers = np.abs(pts @ normal + offset) < threshold
        normal, offset = fit_plane(pts[inliers])
    reference = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    if normal @ reference < 0:
        normal, offset = -normal, -offset
    inliers = np.abs(pts @ normal + offset) < threshold
    return normal, offset, inliers


def oriented_box(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The gravity-aligned box of least footprint around points (z-up world).

    The footprint is the minimum-area rectangle of the points' xy (rotating calipers over
    the convex hull); the height spans the points' z.

    Args:
        points: (N, 3) metres, N >= 1.

    Returns:
        ``(center, size, yaw)``: (3,) box centre; (3,) extents ``(length, width, height)`` in
        metres with length >= width; yaw in radians, in [-pi/2, pi/2), the direction of the
        length side measured counter-clockwise from world +x.

    >>> c, s, yaw = oriented_box(np.array([[0, 0, 0], [2, 0, 0], [2, 1, 0], [0, 1, 1.0]]))
    >>> np.round(s, 6).tolist(), round(yaw, 6)
    ([2.0, 1.0, 1.0], 0.0)
    """
    pts = as_points(points)
    if len(pts) == 0:
        raise ValueError("an oriented box needs at least one point")
    xy = pts[:, :2]
    z0, z1 = pts[:, 2].min(), pts[:, 2].max()
    hull = _hull_xy(xy)
    if len(hull) < 3:
        angles = np.array([np.arctan2(*(hull[-1] - hull[0])[::-1]) if len(hull) == 2 else 0.0])
    else:
        edges = np.roll(hull, -1, axis=0) - hull
        angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    best = None
    for a in angles:
        c, s = np.cos(a), np.sin(a)
        rot = hull @ np.array([[c, -s], [s, c]])
        lo, hi = rot.min(axis=0), rot.max(axis=0)
        area = float(np.prod(hi - lo))
        if best is None or area < best[0] - 1e-12:
            best = (area, a, lo, hi)
    _, a, lo, hi = best
    ext = hi - lo
    mid = (lo + hi) / 2.0
    c, s = np.cos(a), np.sin(a)
    center_xy = np.array([c * mid[0] - s * mid[1], s * mid[0] + c * mid[1]])
    if ext[1] > ext[0]:
        ext = ext[::-1]
        a = a + np.pi / 2
    yaw = float((a + np.pi / 2) % np.pi - np.pi / 2)
    center = np.array([center_xy[0], center_xy[1], (z0 + z1) / 2.0])
    return center, np.array([ext[0], ext[1], z1 - z0]), yaw


def _hull_xy(xy: np.ndarray) -> np.ndarray:
    """Convex hull vertices of 2D points (all distinct points when fewer than 3)."""
    keys = np.floor(xy / 1e-4).astype(np.int64)
    _, first = np.unique((keys[:, 0] << 32) + keys[:, 1], return_index=True)
    uniq = xy[first]
    if len(uniq) < 3:
        return uniq
    import cv2

    origin = uniq.mean(axis=0)
    hull = cv2.convexHull((uniq - origin).astype(np.float32)).reshape(-1, 2)
    return hull.astype(np.float64) + origin


def heading_deg(direction: np.ndarray) -> float:
    """Compass angle of a direction's horizontal part: degrees counter-clockwise from +x (seen from above)."""
    d = np.asarray(direction, dtype=np.float64)
    return float(np.degrees(np.arctan2(d[1], d[0])))


def wrap_deg(angle: float) -> float:
    """An angle in degrees wrapped to (-180, 180]."""
    a = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else float(a)


def levelling_transform(
    points: np.ndarray,
    poses: np.ndarray,
    *,
    tolerance_deg: float = 1.0,
    tolerance_m: float = 0.02,
) -> tuple[np.ndarray, dict[str, float | str]]:
    """The rigid 4×4 world-to-world transform that makes +z up and puts the floor at z = 0.

    "Up" starts from the cameras (the mean of their -y axes: people hold cameras roughly
    level, pitched by less than 40°); the floor is then `floor.find_floor` along it (the lowest
    well-supported horizontal plane, its normal within 40° of up), found a second time along
    the first floor's normal (within 10° of it); a floor with confidence under 0.2 is not used.
    Without a floor plane, up stays the prior and the floor is the 1st percentile of heights.
    When the input is already level (within ``tolerance_deg`` and ``tolerance_m``) the identity
    is returned, so exact inputs stay exact.

    Args:
        points: (N, 3) scene points in the input's world frame, metres.
        poses: (M, 4, 4) camera-to-world poses in the input's world frame.
        tolerance_deg: largest tilt of up from +z that is left alone, degrees.
        tolerance_m: largest floor offset from z = 0 that is left alone, metres.

    Returns:
        ``(T, info)``: T maps input-world points to levelled-world points (``p' = T[:3,:3] p + T[:3,3]``);
        info says how (``method``, ``tilt_deg``, ``floor_offset_m``).
    """
    from spatialclaw.primitives.floor import find_floor

    pts = as_points(points)
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, 4, 4)
    z = np.array([0.0, 0.0, 1.0])
    down = poses[:, :3, 1].mean(axis=0) if len(poses) else np.zeros(3)
    prior = -down / np.linalg.norm(down) if np.linalg.norm(down) > 0.3 else z
    method = "floor plane"
    up, floor = prior, None
    guess, max_tilt = prior, 40.0
    for _ in range(2 if len(pts) >= 100 else 0):
        found = find_floor(pts, guess, max_tilt_deg=max_tilt)
        if found is None or found.confidence < 0.2:
            break
        up, floor = found.normal, found.offset
        guess, max_tilt = found.normal, 10.0
    if floor is None:
        method = "camera gravity prior" if up is prior and prior is not z else "input +z"
        floor = float(np.percentile(pts @ up, 1.0)) if len(pts) else 0.0
    tilt = float(np.degrees(np.arccos(np.clip(up @ z, -1.0, 1.0))))
    info: dict[str, float | str] = {"method": method, "tilt_deg": round(tilt, 3), "floor_offset_m": round(float(floor), 4)}
    T = np.eye(4)
    if tilt <= tolerance_deg and abs(floor) <= tolerance_m:
        info["applied"] = "identity (already level)"
        return T, info
    T[:3, :3] = rotation_between(up, z)
    T[2, 3] = -floor
    info["applied"] = "re-levelled"
    return T, info
