"""Identity by tracking without weights: per-frame masks linked through optical flow.

Each frame's masks (from VLM pointing + region growing, or any per-frame segmenter) are linked
to the tracks alive so far: a track's last mask is carried forward to the current frame by
dense optical flow (OpenCV DIS, frame to frame), and a mask joins the track it overlaps best
(intersection over union >= ``min_iou``, one mask per track, Hungarian assignment), provided
its 3D centre (when depth is given) is within a plausible distance of the track's last one
(``max_speed`` metres per second plus ``slack`` metres). A mask that joins no track starts a new
one. So two identical chairs pushed apart stay two tracks: each one's mask, carried by the
flow, lands on itself, never on its twin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spatialclaw.primitives.types import Masks


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) flow from RGB image ``a`` to ``b`` (pixels, x then y): ``a[p]`` is seen at ``b[p + flow[p]]``."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY) for x in (a, b)]
    return dis.calc(grey[0], grey[1], None)


def carry(mask: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """Mask (H, W) bool of one frame carried to the next with the *backward* flow (next → this frame)."""
    import cv2

    h, w = mask.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    moved = cv2.remap(mask.astype(np.uint8), u + flow_back[..., 0], v + flow_back[..., 1], cv2.INTER_NEAREST,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return moved > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


@dataclass
class _Track:
    ident: int
    mask: np.ndarray
    frame: int
    centre: np.ndarray | None


def link_masks(
    masks: Masks,
    images: list[np.ndarray],
    times: np.ndarray | None = None,
    centre_of: Callable[[int], np.ndarray | None] | None = None,
    *,
    min_iou: float = 0.2,
    max_gap: int = 8,
    max_speed: float = 1.5,
    slack: float = 0.3,
) -> Masks:
    """``masks`` with ``instance_ids`` set by tracking through ``images`` (one id per followed object).

    Args:
        masks: per-frame masks; ``frame_ids`` index ``images`` (ids already set are ignored).
        images: the frames, H×W×3 uint8 RGB, in time order.
        times: (len(images),) seconds (default: one per frame).
        centre_of: ``centre_of(k)`` the 3D centre (3,) of mask ``k``, metres, or None when unknown;
            without it the 3D check is skipped.
        min_iou: least overlap of a carried track mask with a mask for them to be linked.
        max_gap: a track not seen for more frames than this ends.
        max_speed: fastest plausible motion of an object, metres per second.
        slack: metres added to the distance allowed by ``max_speed`` (depth noise).
    """
    from scipy.optimize import linear_sum_assignment

    times = np.arange(len(images), dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    ids = np.full(len(masks), -1, np.int64)
    tracks: list[_Track] = []
    next_id = 0
    for f in range(len(images)):
        if f > 0 and tracks:
            back = optical_flow(images[f], images[f - 1])
            for t in tracks:
                t.mask = carry(t.mask, back)
        tracks = [t for t in tracks if f - t.frame <= max_gap]
        rows = np.nonzero(masks.frame_ids == f)[0]
        if len(rows) == 0:
            continue
        centres = [centre_of(int(k)) if centre_of else None for k in rows]
        score = np.zeros((len(tracks), len(rows)))
        for i, t in enumerate(tracks):
            for j, k in enumerate(rows):
                iou = _iou(t.mask, masks.masks[k])
                if iou >= min_iou and _plausible(t, centres[j], times[f] - times[t.frame], max_speed, slack):
                    score[i, j] = iou
        taken = set()
        if len(tracks):
            for i, j in zip(*linear_sum_assignment(-score)):
                if score[i, j] > 0:
                    tracks[i].mask, tracks[i].frame, tracks[i].centre = masks.masks[rows[j]].copy(), f, centres[j]
                    ids[rows[j]] = tracks[i].ident
                    taken.add(j)
        for j, k in enumerate(rows):
            if j not in taken:
                tracks.append(_Track(next_id, masks.masks[k].copy(), f, centres[j]))
                ids[k] = next_id
                next_id += 1
    return Masks(masks.masks, masks.boxes, masks.scores, masks.labels, masks.frame_ids, ids)


def _plausible(track: _Track, centre: np.ndarray | None, dt: float, max_speed: float, slack: float) -> bool:
    """Whether an object could have moved from the track's last 3D centre to ``centre`` in ``dt`` seconds."""
    if track.centre is None or centre is None:
        return True
    return float(np.linalg.norm(centre - track.centre)) <= max_speed * abs(dt) + slack
