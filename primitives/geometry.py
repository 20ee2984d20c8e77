"""Geometry primitives for spatial questions: distances, the floor, camera motion, directions, room size.

All in the world frame of `reconstruct`: metres, +z up, floor at z = 0. Angles are degrees,
positive counter-clockwise seen from above (a positive turn is a turn to the left).
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import math3d
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.perception import run_reconstruction
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.types import Object3D, Reconstruction

ROOM_POINTS = 1_500_000
"""About how many points `room_size` rasterises (pixels are subsampled evenly to stay near it)."""

PointsLike = Union[Object3D, np.ndarray, list, tuple]


def _points(item: PointsLike, name: str) -> np.ndarray:
    if isinstance(item, Object3D):
        return item.points
    pts = math3d.as_points(item, name)
    if len(pts) == 0:
        raise ValueError(f"{name} has no points")
    return pts


def _position(item: PointsLike, name: str) -> np.ndarray:
    if isinstance(item, Object3D):
        return item.center
    return _points(item, name).mean(axis=0)


@primitive(group="geometry")
def distance(a: Object3D | np.ndarray, b: Object3D | np.ndarray) -> float:
    """Closest-point distance between two objects or point sets, in metres (0 if they touch).

    Args:
        a: an Object3D, an (N, 3) array of world points, or one (3,) point.
        b: the same kinds as `a`.

    Example:
        distance(objects3d("sofa")[0], objects3d("tv")[0])   # metres between their closest points
    """
    from scipy.spatial import cKDTree

    pa, pb = _points(a, "a"), _points(b, "b")
    if len(pa) > len(pb):
        pa, pb = pb, pa
    d, _ = cKDTree(pb).query(pa, k=1)
    return float(d.min())


def _recon(recon: Reconstruction | None, context: KernelContext) -> Reconstruction:
    return run_reconstruction(None, context) if recon is None else recon


@primitive(group="geometry")
def ground_plane(recon: Reconstruction | None = None, *, context: KernelContext) -> dict[str, Any]:
    """Fit the floor plane to the reconstruction's points (a check of the world frame).

    In a good reconstruction the floor is z = 0 with normal (0, 0, 1). Also gives each camera's
    height above the fitted floor.

    Args:
        recon: the reconstruction; `reconstruct()` of all frames by default.

    Returns:
        dict: `normal` (3,), `offset_m` (normal·p + offset = 0 on the floor), `tilt_deg` (angle
        of the normal from +z), `inlier_fraction`, `confidence` (0..1: how sure the fit is; under
        0.5 the floor is doubtful), `camera_heights_m` (one per entry).
    """
    from spatialclaw.primitives.floor import find_floor

    r = _recon(recon, context)
    cloud = r.point_cloud(stride=8)
    floor = find_floor(cloud, np.array([0.0, 0.0, 1.0]), max_tilt_deg=25.0)
    if floor is None:
        raise ValueError("too few reconstructed points to fit the floor: reconstruct more frames that show it")
    normal, offset = floor.normal, -floor.offset
    heights = r.camera_centers() @ normal + offset
    return {
        "normal": np.round(normal, 4).tolist(),
        "offset_m": round(float(offset), 4),
        "tilt_deg": round(float(np.degrees(np.arccos(np.clip(normal[2], -1, 1)))), 3),
        "inlier_fraction": round(float(np.mean(np.abs(cloud @ normal + offset) < 0.02)), 3),
        "confidence": round(floor.confidence, 3),
        "camera_heights_m": np.round(heights, 3).tolist(),
    }


def _frame_position(item: Frame | int, context: KernelContext) -> int:
    positions, _ = context.select_frames([item])
    return positions[0]


def _motion_poses(
    i: Frame | int | None, j: Frame | int | None, t0: float | None, t1: float | None, r: Reconstruction,
    context: KernelContext,
) -> tuple[np.ndarray, np.ndarray]:
    """The start and end camera poses (4×4) of `camera_motion`, from frames or from times."""
    from spatialclaw.primitives.timeline import pose_at

    by_frames, by_times = i is not None or j is not None, t0 is not None or t1 is not None
    if by_frames == by_times or (by_frames and (i is None or j is None)) or (by_times and (t0 is None or t1 is None)):
        raise ValueError("camera_motion needs two frames (camera_motion(i, j)) or two times in seconds (camera_motion(t0=..., t1=...))")
    if by_frames:
        return r.pose[r.index(_frame_position(i, context))], r.pose[r.index(_frame_position(j, context))]
    times = [f.time for f in context.frames]
    return pose_at(r, t0, times), pose_at(r, t1, times)


@primitive(group="geometry")
def camera_motion(
    i: Frame | int | None = None,
    j: Frame | int | None = None,
    recon: Reconstruction | None = None,
    t0: float | None = None,
    t1: float | None = None,
    *,
    context: KernelContext,
) -> dict[str, Any]:
    """How the camera moved from frame i to frame j, or from time t0 to time t1 (seconds):
    translation in metres, turn in degrees.

    Translation is expressed in the start's horizontal heading: `forward_m` along where the
    camera looks at the start (projected on the floor), `right_m` to its right, `up_m` along +z.
    Between times, the pose is interpolated between the frames around each time.

    Args:
        i: the start frame (Frame or position in `frames`).
        j: the end frame (Frame or position in `frames`).
        recon: a reconstruction containing both frames; `reconstruct()` by default.
        t0: instead of frames: the start time in seconds (e.g. `camera_motion(t0=2.0, t1=6.5)`).
        t1: the end time in seconds.

    Returns:
        dict: `distance_m` (3D straight-line), `horizontal_m`, `forward_m`, `right_m`, `up_m`,
        `turn_deg` (change of heading, positive = turned left, in (-180, 180]),
        `turn` ("left", "right" or "straight" if under 5°).
    """
    r = _recon(recon, context)
    start, end = _motion_poses(i, j, t0, t1, r, context)
    delta = end[:3, 3] - start[:3, 3]
    fwd = start[:3, 2].copy()
    fwd[2] = 0.0
    if np.linalg.norm(fwd) < 1e-6:
        fwd = -start[:3, 1].copy()
        fwd[2] = 0.0
    fwd /= np.linalg.norm(fwd)
    right = np.array([fwd[1], -fwd[0], 0.0])
    turn = math3d.wrap_deg(math3d.heading_deg(end[:3, 2]) - math3d.heading_deg(start[:3, 2]))
    return {
        "distance_m": round(float(np.linalg.norm(delta)), 4),
        "horizontal_m": round(float(np.linalg.norm(delta[:2])), 4),
        "forward_m": round(float(delta @ fwd), 4),
        "right_m": round(float(delta @ right), 4),
        "up_m": round(float(delta[2]), 4),
        "turn_deg": round(turn, 2),
        "turn": "straight" if abs(turn) < 5.0 else ("left" if turn > 0 else "right"),
    }


@primitive(group="geometry")
def relative_direction(standing_at: Object3D | np.ndarray, facing: Object3D | np.ndarray, target: Object3D | np.ndarray) -> dict[str, Any]:
    """Where `target` is for someone standing at `standing_at` and facing `facing` (seen from above).

    Uses object centres (or the mean of point sets), ignoring height.

    Args:
        standing_at: Object3D, (3,) point or (N, 3) points: where the observer stands.
        facing: what the observer looks at.
        target: what to locate.

    Returns:
        dict: `angle_deg` (0 = straight ahead, positive = to the left, in (-180, 180]),
        `side` ("left"/"right"), `front_back` ("front"/"back"), `quadrant` (e.g. "front-left"),
        `left_right_back` ("back" if |angle| > 135°, else the side), `distance_m` (horizontal,
        observer to target).

    Example:
        d = relative_direction(objects3d("bed")[0], objects3d("door")[0], objects3d("lamp")[0])
        print(d["quadrant"])
    """
    a = _position(standing_at, "standing_at")
    b = _position(facing, "facing")
    c = _position(target, "target")
    forward, to_target = (b - a)[:2], (c - a)[:2]
    if np.linalg.norm(forward) < 1e-6:
        raise ValueError("standing_at and facing are at the same place: the facing direction is undefined")
    angle = math3d.wrap_deg(math3d.heading_deg(to_target) - math3d.heading_deg(forward))
    side = "left" if angle > 0 else "right"
    front_back = "front" if abs(angle) <= 90.0 else "back"
    return {
        "angle_deg": round(angle, 2),
        "side": side,
        "front_back": front_back,
        "quadrant": f"{front_back}-{side}",
        "left_right_back": "back" if abs(angle) > 135.0 else side,
        "distance_m": round(float(np.linalg.norm(to_target)), 4),
    }


@primitive(group="geometry")
def room_size(recon: Reconstruction | None = None, cell: float = 0.05, *, context: KernelContext) -> dict[str, Any]:
    """Estimate the room's floor area and extents from the reconstructed points.

    The points' footprint on the floor is rasterised (cells of `cell` metres), gaps are closed
    and holes filled, and the largest connected region is the room (its boundary cells, where
    the walls are, count half). Parts of the room never
    seen are missing, so with few views this underestimates.

    Args:
        recon: the reconstruction; `reconstruct()` of all frames by default.
        cell: raster cell size, metres.

    Returns:
        dict: `floor_area_m2`, `length_m` and `width_m` (sides of the footprint's minimum-area
        rectangle), `height_m` (99th percentile of point heights: the ceiling if seen).
    """
    from scipy import ndimage

    r = _recon(recon, context)
    cloud = r.point_cloud(stride=max(1, int(np.sqrt(r.depth.size / ROOM_POINTS))))
    cloud = cloud[cloud[:, 2] > -0.2]
    if len(cloud) < 10:
        raise ValueError("too few reconstructed points to estimate the room size")
    ij = np.floor(cloud[:, :2] / cell).astype(np.int64)
    lo = ij.min(axis=0)
    ij -= lo
    grid = np.zeros(ij.max(axis=0) + 1, bool)
    grid[ij[:, 0], ij[:, 1]] = True
    grid = ndimage.binary_closing(np.pad(grid, 3), structure=np.ones((3, 3)), iterations=2)
    grid = ndimage.binary_fill_holes(grid)
    labels, count = ndimage.label(grid)
    if count > 1:
        grid = labels == (np.bincount(labels.ravel())[1:].argmax() + 1)
    boundary = grid & ~ndimage.binary_erosion(grid)
    cells = (np.argwhere(grid) + 0.5) * cell
    _, extent, _ = math3d.oriented_box(np.column_stack([cells, np.zeros(len(cells))]))
    return {
        "floor_area_m2": round(float((grid.sum() - 0.5 * boundary.sum()) * cell * cell), 3),
        "length_m": round(float(extent[0]), 3),
        "width_m": round(float(extent[1]), 3),
        "height_m": round(float(np.percentile(cloud[:, 2], 99)), 3),
    }
