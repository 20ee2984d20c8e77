"""The `tracks3d` primitive: objects followed through time, one `Track3D` per physical object.

Identity comes from the tracker (the segmentation backend's ``track``: ground-truth instance
ids, or masks propagated from frame to frame), never from 3D overlap, so a chair pushed across
the room stays one track and two identical chairs moving apart stay two. Each track's centre
per frame is fitted by `track_fit` (the object's fused shape registered to each view).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from spatialclaw.primitives import backends, track_fit, view_evidence
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.fusion import FLOOR_MARGIN, _mask_points, main_components
from spatialclaw.primitives.perception import run_tracking, run_tracks
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.tracks_types import Track3D
from spatialclaw.primitives.types import Masks, Reconstruction

TRACKS_VERSION = 1
"""Bumped when the tracks' results change, so cached tracks are recomputed."""


def _view_points(masks: Masks, k: int, recon: Reconstruction, exact: bool) -> np.ndarray:
    """World points of mask ``k``, cleaned like `fusion` cleans masks without identity unless the masks are exact (ground truth)."""
    entry = recon.index(int(masks.frame_ids[k]))
    pts = _mask_points(recon, entry, masks.masks[k], clean=not exact)
    if not exact and len(pts):
        pts = main_components(pts[pts[:, 2] >= FLOOR_MARGIN], 0.05)
    return pts


def _warnings(label: str, n: int, fit: track_fit.ViewFit, cut: np.ndarray, occluded: np.ndarray) -> list[str]:
    notes = []
    dropped = n - int(fit.kept.sum())
    if fit.kept.sum() == 1:
        notes.append(f"{label}: seen in one frame only; its centre is the box of its visible surface")
    if dropped:
        notes.append(
            f"{label}: {dropped} of {n} views did not fit its shape or jumped off its path (it turned, or the masks "
            "are wrong) and were left out"
        )
    if cut.all():
        notes.append(f"{label}: cut by the image border in every view; its size and centre may be off")
    elif (occluded > 0.3).all():
        notes.append(f"{label}: partly hidden in every view; its size and centre may be off")
    return notes


def build_track(
    masks: Masks, rows: np.ndarray, recon: Reconstruction, times: Sequence[float], exact: bool = False
) -> Track3D | None:
    """The `Track3D` of one identity from its masks ``rows`` (indices into ``masks``), None if nothing fits.

    ``times``: seconds of each of the kernel's frames (``times[frame id]``; a frame id beyond
    them stands for its time). ``exact``: the masks are ground truth (no cleaning of stray
    pixels needed).
    """
    rows = rows[np.argsort(masks.frame_ids[rows], kind="stable")]
    rows = np.array([k for k in rows if int(masks.frame_ids[k]) in set(recon.frame_ids.tolist())], np.int64)
    if len(rows) == 0:
        return None
    points = [_view_points(masks, int(k), recon, exact) for k in rows]
    entries = [recon.index(int(masks.frame_ids[k])) for k in rows]
    cut = np.array([view_evidence.cut_by_border(masks.masks[k]) for k in rows])
    occluded = np.array([view_evidence.occluded_fraction(recon.depth[e], masks.masks[k]) for k, e in zip(rows, entries)])
    priors = np.array([view_evidence.observation_weight(c, o) for c, o in zip(cut, occluded)])
    all_times = np.array([float(times[int(f)]) if int(f) < len(times) else float(f) for f in masks.frame_ids[rows]])
    views = [
        track_fit.View(p, t, w, view_evidence.depth_view(recon, e)) for p, t, w, e in zip(points, all_times, priors, entries)
    ]
    fit = track_fit.fit_track(views)
    keep = fit.kept
    if not keep.any():
        return None
    label = Counter(str(masks.labels[k]) for k in rows).most_common(1)[0][0]
    fids = masks.frame_ids[rows][keep]
    times = all_times[keep]
    return Track3D(
        label,
        fids,
        times,
        fit.positions[keep],
        size=fit.size,
        instance_id=int(masks.instance_ids[rows[0]]),
        weights=(priors * np.clip(fit.overlap, 0.0, 1.0))[keep],
        warnings=_warnings(label, len(rows), fit, cut, occluded),
    )


@primitive(group="objects")
def tracks3d(query: str, recon: Reconstruction | None = None, *, context: KernelContext) -> list[Track3D]:
    """The physical objects named by `query`, followed through time: one track per object
    (static ones included), identity kept by tracking across frames.

    Use this, not `objects3d`, for questions about motion: what moved, how far, how fast,
    towards what. Each position is an estimate of the object's centre (its shape fused over
    all views, fitted to each view), so it does not slide when only part of it is seen.

    Args:
        query: object name(s), e.g. "chair" or "chairs, tables"; "*" asks for every object.
        recon: the reconstruction to use (its frames only); `reconstruct()` of all frames by default.

    Returns:
        Tracks sorted by first sighting. Each `t` has `t.label`; `t.frame_ids` (N,) positions in
        `frames` where seen; `t.times` (N,) seconds; `t.positions` (N, 3) centre per frame,
        metres; `t.size` (3,) metres; `t.moved` (True if it moved more than 0.2 m);
        `t.displacement(t0=None, t1=None)` (3,) metres between two times in seconds (default:
        first and last sighting); `t.distance_travelled()` metres (jitter under 5 cm ignored);
        `t.speed()` mean m/s while seen; `t.position_at(t)` (3,) interpolated (clamped outside
        the time seen); `t.weights` (N,) confidence; `t.warnings`. `show(t)` draws its path.

    Example:
        for t in tracks3d("chair"):
            print(t.label, t.moved, round(t.distance_travelled(), 2), "m", round(t.speed(), 2), "m/s")
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("tracks3d() needs a non-empty text query such as 'chair' or 'chairs, tables'")
    exact = backends.get("tracking", context).identities == "exact"
    times = [f.time for f in context.frames]
    if recon is None:
        return run_tracks(query, lambda m, r: follow(m, r, times, exact), {"tracks": TRACKS_VERSION}, context)
    return follow(run_tracking(query, [int(i) for i in recon.frame_ids], context), recon, times, exact)


def follow(masks: Masks, recon: Reconstruction, times: Sequence[float], exact: bool = False) -> list[Track3D]:
    """One `Track3D` per identity in tracked ``masks`` (``instance_ids`` >= 0), sorted by first sighting.

    ``times``: seconds of each of the kernel's frames (`build_track`). ``exact``: the masks are
    ground truth (used as they are); else they are cleaned first.
    """
    tracks = []
    for identity in dict.fromkeys(masks.instance_ids.tolist()):
        if identity < 0:
            continue
        track = build_track(masks, np.nonzero(masks.instance_ids == identity)[0], recon, times, exact)
        if track is not None:
            tracks.append(track)
    tracks.sort(key=lambda t: (int(t.frame_ids[0]), t.label, t.instance_id))
    return tracks
