"""Fusing per-frame instance masks into one 3D object per physical object.

Each mask is lifted to world points with the reconstruction's depth and pose. Masks whose
identity the backend knows exactly (``instance_ids >= 0`` of ground truth) are grouped by it.
Masks with a tracker's identities (``tracked=True``: SAM 3 video) are cleaned as below and
grouped by track, each track checked in 3D (`grouping.group_tracked`: split where its views are
far apart, joined with another track of the same object). The others are cleaned and clustered:

1. a mask is cleaned of what it picked up beyond the object's outline: pixels whose depth
   disagrees with their in-mask neighbours (mask edges straddle depth edges), pixels seeing
   their surface at a grazing angle (one such pixel of wall spans decimetres), points within
   3 cm of the floor (boxes of objects reaching within 8 cm of it are extended down to it),
   and 3D specks away from the object's main connected components;
2. two masks with the same label are the same object when their voxel sets overlap (one
   voxel of slack): ``|A ∩ dilate(B)| / min(|A|, |B|) >= overlap``; the relation is closed
   transitively (union-find), so views of opposite sides join through the views between them;
3. each mask's points are kept where the object's masks in its other views agree
   (`multiview_support`): a loose mask's spill onto the wall behind falls outside the
   object's masks elsewhere.

Two chairs a few decimetres apart never share voxels, so they stay two objects.

An object with identities (ground truth, a tracker) that moves during the video would smear
into one long box: `moving_objects` finds it (its views see through each other) and it is
described where it was first seen, with a note in ``Object3D.notes``.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from spatialclaw.primitives import math3d
from spatialclaw.primitives.grouping import cluster_masks, group_tracked
from spatialclaw.primitives.types import Masks, Object3D, Reconstruction

FUSION_VERSION = 3
"""Bumped when the fusion's results change, so cached objects are recomputed."""
MAX_POINTS_PER_MASK = 30000
FLOOR_MARGIN = 0.03
"""Points of masks without identity lower than this (metres) are dropped: a mask spilling onto the
floor would otherwise widen the object."""
STANDING_GAP = 0.08
"""An object without identity whose lowest point is this close to the floor (metres) stands on it:
its box reaches down to z = 0."""



def consistent_pixels(depth: np.ndarray, mask: np.ndarray, window: int = 5, tolerance: float = 0.1) -> np.ndarray:
    """The mask pixels whose depth agrees with their in-mask neighbours.

    A mask that spills over an object's outline picks up pixels of the wall or floor behind
    it; their depth differs from the mean depth of the mask pixels around them by more than
    ``tolerance`` × depth, and they are dropped. Thin parts (a lamp's pole) survive, unlike
    with erosion, because their neighbours in the mask are on the same part.

    Args:
        depth: H×W metres (0 = unknown).
        mask: H×W bool.
        window: neighbourhood side, pixels.
        tolerance: largest relative depth difference kept.

    Returns:
        H×W bool, a subset of ``mask``.
    """
    import cv2

    valid = mask & np.isfinite(depth) & (depth > 0)
    ys, xs = np.nonzero(valid)
    out = np.zeros_like(mask, dtype=bool)
    if len(ys) == 0:
        return out
    y0, y1 = max(ys.min() - window, 0), ys.max() + window + 1
    x0, x1 = max(xs.min() - window, 0), xs.max() + window + 1
    v = valid[y0:y1, x0:x1].astype(np.float32)
    d = np.where(v > 0, depth[y0:y1, x0:x1], 0).astype(np.float32)
    total = cv2.blur(d, (window, window), borderType=cv2.BORDER_CONSTANT)
    count = cv2.blur(v, (window, window), borderType=cv2.BORDER_CONSTANT)
    mean = total / np.maximum(count, 1e-6)
    out[y0:y1, x0:x1] = (v > 0) & (np.abs(d - mean) <= tolerance * d)
    return out


def _masked_diff(d: np.ndarray, valid: np.ndarray, axis: int) -> np.ndarray:
    """Depth difference to a neighbour along ``axis`` that is also valid (forward, else backward; 0 if none)."""
    fwd = np.zeros_like(d)
    bwd = np.zeros_like(d)
    ok_f = np.zeros_like(valid)
    ok_b = np.zeros_like(valid)
    if axis == 1:
        fwd[:, :-1], ok_f[:, :-1] = d[:, 1:] - d[:, :-1], valid[:, 1:] & valid[:, :-1]
        bwd[:, 1:], ok_b[:, 1:] = d[:, 1:] - d[:, :-1], valid[:, 1:] & valid[:, :-1]
    else:
        fwd[:-1], ok_f[:-1] = d[1:] - d[:-1], valid[1:] & valid[:-1]
        bwd[1:], ok_b[1:] = d[1:] - d[:-1], valid[1:] & valid[:-1]
    return np.where(ok_f, fwd, np.where(ok_b, bwd, 0.0))


def facing_pixels(depth: np.ndarray, K: np.ndarray, mask: np.ndarray, max_angle_deg: float = 75.0) -> np.ndarray:
    """The mask pixels whose surface faces the camera within ``max_angle_deg`` (not grazing).

    Seen at a grazing angle, one pixel spans a long stretch of surface: the pixel a loose mask
    takes from the wall beside an object can lie decimetres along the wall. The slope is
    measured between neighbouring mask pixels only, so thin parts (a lamp's pole) are not
    mistaken for grazing where they meet the background.

    Args:
        depth: H×W metres.
        K: 3×3 intrinsics.
        mask: H×W bool.
        max_angle_deg: largest angle between the surface normal and the line of sight.

    Returns:
        H×W bool, a subset of ``mask``.
    """
    d = depth.astype(np.float32)
    valid = mask & (d > 0)
    gx = _masked_diff(d, valid, axis=1) * K[0, 0]
    gy = _masked_diff(d, valid, axis=0) * K[1, 1]
    slope = np.hypot(gx, gy) / np.maximum(d, 1e-6)  # depth change per unit of sideways move
    return valid & (slope <= np.tan(np.radians(max_angle_deg)))


def _mask_points(recon: Reconstruction, entry: int, mask: np.ndarray, clean: bool) -> np.ndarray:
    if clean:
        kept = consistent_pixels(recon.depth[entry], mask)
        kept = facing_pixels(recon.depth[entry], recon.K[entry], kept)
        if kept.sum() >= 10:
            mask = kept
    area = int(mask.sum())
    stride = max(1, int(np.ceil(np.sqrt(area / MAX_POINTS_PER_MASK))))
    return recon.points(entry, mask=mask, stride=stride)


def main_components(points: np.ndarray, voxel: float, keep_fraction: float = 0.2, max_gap: float = 0.3) -> np.ndarray:
    """The points of the object's 26-connected components on a ``voxel`` grid (metres).

    The largest component is kept, and so is any other with at least ``keep_fraction`` of its
    voxels within ``max_gap`` metres of it (a lamp's pole, cut from its shade where the shade
    hides the joint). Specks, and the outline a loose mask leaves on a wall behind the object,
    are dropped.
    """
    if len(points) < 2:
        return points
    from scipy.ndimage import label
    from scipy.spatial import cKDTree

    keys = np.floor(points / voxel).astype(np.int64)
    lo = keys.min(axis=0)
    dims = keys.max(axis=0) - lo + 1
    if np.prod(dims) > 8_000_000:
        return points
    grid = np.zeros(dims, bool)
    local = keys - lo
    grid[local[:, 0], local[:, 1], local[:, 2]] = True
    labels, count = label(grid, structure=np.ones((3, 3, 3), bool))
    if count <= 1:
        return points
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    main = int(sizes.argmax())
    occupied = np.unique(local, axis=0)
    component = labels[occupied[:, 0], occupied[:, 1], occupied[:, 2]]
    candidate = sizes >= keep_fraction * sizes[main]
    candidate[main] = False
    keep = np.zeros(count + 1, bool)
    keep[main] = True
    near = candidate[component]
    if near.any():  # one query for every candidate voxel: many similar components cost no more than one
        gap = cKDTree(occupied[component == main]).query(occupied[near], k=1)[0] * voxel
        closest = np.full(count + 1, np.inf)
        np.minimum.at(closest, component[near], gap)
        keep |= closest <= max_gap
    return points[keep[labels[local[:, 0], local[:, 1], local[:, 2]]]]


def multiview_support(
    points: np.ndarray,
    recon: Reconstruction,
    views: list[tuple[int, np.ndarray]],
    tolerance: float = 0.05,
) -> np.ndarray:
    """Which points the object's masks in other views agree with.

    Each point is projected into every view ``(entry, mask)``; a view *sees* it when it lands
    in the image with depth no further than the view's depth there (plus ``tolerance``
    relative to the depth: not hidden behind something), and *supports* it when it also lands
    inside the mask. A point is kept when at least half of the views that see it support it,
    or when none sees it. What a loose mask picks up
    on the wall behind an object is seen from other views outside the object's masks.

    Returns:
        (N,) bool.
    """
    seen = np.zeros(len(points), np.int32)
    supported = np.zeros(len(points), np.int32)
    for entry, mask in views:
        uv, z = math3d.project(points, recon.K[entry], recon.pose[entry], recon.lens(entry))
        h, w = mask.shape
        inside = np.isfinite(uv[:, 0])
        u = np.where(inside, np.floor(np.nan_to_num(uv[:, 0])), -1).astype(np.int64)
        v = np.where(inside, np.floor(np.nan_to_num(uv[:, 1])), -1).astype(np.int64)
        inside &= (u >= 0) & (u < w) & (v >= 0) & (v < h)
        d = np.zeros(len(points), np.float32)
        d[inside] = recon.depth[entry][v[inside], u[inside]]
        sees = inside & (d > 0) & (z <= d * (1 + tolerance))
        seen += sees
        supported += sees & mask[np.clip(v, 0, h - 1), np.clip(u, 0, w - 1)]
    return (seen == 0) | (2 * supported >= seen)


def _stand_on_floor(obj: Object3D) -> Object3D:
    """The object with its box extended down to the floor (z = 0)."""
    top = obj.center[2] + obj.size[2] / 2.0
    center = np.array([obj.center[0], obj.center[1], top / 2.0])
    size = np.array([obj.size[0], obj.size[1], top])
    return Object3D(obj.label, obj.points, center, size, obj.yaw, obj.frames, obj.score, obj.instance_id)


def _first_position(
    recon: Reconstruction, clouds: list[np.ndarray], frame_ids: list[int], times: Sequence[float] | None
) -> tuple[np.ndarray, float] | None:
    """`moving_objects.first_position` of one identified object's views, dated by ``times[frame id]``
    (seconds; a frame id stands for its time where ``times`` is None or too short)."""
    from spatialclaw.primitives.moving_objects import first_position

    known = len(times) if times is not None else 0
    seconds = [float(times[f]) if f < known else float(f) for f in frame_ids]
    return first_position(recon, clouds, [recon.index(f) for f in frame_ids], seconds)


def fuse(
    masks: Masks,
    recon: Reconstruction,
    *,
    voxel: float = 0.05,
    overlap: float = 0.25,
    point_voxel: float = 0.01,
    min_points: int = 50,
    tracked: bool = False,
    times: Sequence[float] | None = None,
) -> list[Object3D]:
    """One `Object3D` per physical object seen in ``masks``.

    Args:
        masks: per-frame masks; ``frame_ids`` are positions in the kernel's frames and must be
            in ``recon.frame_ids`` (others are skipped).
        recon: depth and poses of those frames.
        voxel: grid size for cleaning and overlap tests, metres.
        overlap: fraction of the smaller mask's voxels that must touch the other's to merge.
        point_voxel: the objects' points are downsampled to one per ``point_voxel`` metres.
        min_points: objects without identity with fewer (downsampled) points are dropped
            (fragments of a mask that strayed onto another object); objects the backend
            identified are always kept.
        tracked: ``instance_ids`` come from a video tracker, not ground truth: masks are
            cleaned and the identities checked in 3D.
        times: seconds of each of the kernel's frames (``times[frame id]``), which date the views
            of an object that moves; None: frame ids stand for times.

    Returns:
        Objects sorted by first appearance (then by label).
    """
    known = set(recon.frame_ids.tolist())
    clouds, labels, frames, ids, scores, sources = [], [], [], [], [], []
    for k in range(len(masks)):
        fid = int(masks.frame_ids[k])
        if fid not in known:
            continue
        noisy = tracked or masks.instance_ids[k] < 0
        pts = _mask_points(recon, recon.index(fid), masks.masks[k], clean=noisy)
        if noisy:
            pts = main_components(pts[pts[:, 2] >= FLOOR_MARGIN], voxel)
        if len(pts) == 0:
            continue
        clouds.append(pts)
        labels.append(str(masks.labels[k]))
        frames.append(fid)
        ids.append(int(masks.instance_ids[k]))
        scores.append(float(masks.scores[k]))
        sources.append(k)
    if not clouds:
        return []
    exact = not tracked and all(i >= 0 for i in ids)
    if exact:
        order = {i: g for g, i in enumerate(dict.fromkeys(ids))}
        groups = [order[i] for i in ids]
    elif tracked and all(i >= 0 for i in ids):
        groups = group_tracked(clouds, labels, ids, voxel, overlap)
    else:
        groups = cluster_masks(clouds, labels, voxel, overlap)
    objects = []
    for g in sorted(set(groups)):
        members = [k for k in range(len(clouds)) if groups[k] == g]
        parts = [clouds[k] for k in members]
        if not exact and len(members) > 1:
            views = {k: (recon.index(frames[k]), masks.masks[sources[k]]) for k in members}
            for n, k in enumerate(members):
                agreed = multiview_support(parts[n], recon, [v for j, v in views.items() if j != k])
                parts[n] = parts[n][agreed]
        pts = np.concatenate(parts)
        if len(pts) == 0:
            continue
        pts = math3d.voxel_downsample(pts, point_voxel)
        if not exact and len(pts) < min_points:
            continue
        label = Counter(labels[k] for k in members).most_common(1)[0][0]
        score = float(np.mean([scores[k] for k in members]))
        instance = Counter(ids[k] for k in members).most_common(1)[0][0] if (exact or tracked) else -1
        notes = []
        if exact or tracked:
            moving = _first_position(recon, [clouds[k] for k in members], [frames[k] for k in members], times)
            if moving is not None:
                pts = math3d.voxel_downsample(moving[0], point_voxel)
                first = min(frames[k] for k in members)
                notes.append(
                    f"it moves during the video (its centre travels up to {moving[1]:.2f} m): described where it was "
                    f"first seen, in frames[{first}]; use tracks3d({label!r}) for where it is when"
                )
        obj = Object3D.from_points(label, pts, [frames[k] for k in members], score, instance, notes)
        if not exact and 0.0 < obj.height_above_floor < STANDING_GAP:
            obj = _stand_on_floor(obj)
        objects.append(obj)
    objects.sort(key=lambda o: (o.first_frame, o.label, o.center[0], o.center[1]))
    return objects
