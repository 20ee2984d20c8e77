"""Objects that move during the video, found while fusing masks with identities (`fusion.fuse`).

Fusing every view of a moving object into one box smears it along its path. A static object's
points, seen from any of its views, lie where every other view sees a surface at or behind
them; a moving object's points from one moment lie where, at another moment, the camera sees
straight through to the wall (`view_evidence.free_space_violation`). Objects that fail this test are
followed with `track_fit.fit_track`; if their centre moves more than `MOVED_M`, `fuse` reports
them where they were first seen, with a note, and `tracks3d` is the way to reason about them.
"""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives import track_fit, view_evidence
from spatialclaw.primitives.tracks_types import MOVED_M
from spatialclaw.primitives.types import Reconstruction

SEEN_THROUGH = 0.15
"""Median fraction of one view's points another view sees through, above which an object may move."""
SAMPLE = 300
"""Points of a view projected into the others."""
MAX_VIEWS = 12
"""At most this many views (evenly spread) are compared with each other."""


def seen_through(recon: Reconstruction, clouds: list[np.ndarray], entries: list[int]) -> float:
    """Median, over pairs of views, of the fraction of one view's points (world, metres) the other sees through."""
    fractions = []
    pick = np.unique(np.linspace(0, len(clouds) - 1, min(len(clouds), MAX_VIEWS)).astype(np.int64))
    views = {entries[k]: view_evidence.depth_view(recon, entries[k]) for k in pick}
    for a in pick:
        cloud = clouds[a]
        pts = cloud if len(cloud) <= SAMPLE else cloud[np.linspace(0, len(cloud) - 1, SAMPLE).astype(np.int64)]
        for b in pick:
            e = entries[b]
            if a != b and entries[a] != e:
                fractions.append(view_evidence.free_space_violation(pts, views[e]))
    return float(np.median(fractions)) if fractions else 0.0


def first_position(recon: Reconstruction, clouds: list[np.ndarray], entries: list[int], times: list[float]) -> tuple[np.ndarray, float] | None:
    """Where a moving object was first seen: its fused shape's points (N, 3) placed at its first
    view, and how far (metres) its centre got from there; None when it does not move."""
    if len(clouds) < 2 or seen_through(recon, clouds, entries) < SEEN_THROUGH:
        return None
    order = np.argsort(times, kind="stable")
    views = [
        track_fit.View(clouds[k], float(times[k]), 1.0, view_evidence.depth_view(recon, entries[k]))
        for k in order
    ]
    fit = track_fit.fit_track(views)
    kept = np.nonzero(fit.kept)[0]
    if len(kept) < 2:
        return None
    travel = float(np.linalg.norm(fit.positions[kept] - fit.positions[kept[0]], axis=1).max())
    if travel <= MOVED_M:
        return None
    centre, _ = track_fit.shape_box(fit.shape)
    return fit.shape - centre + fit.positions[kept[0]], travel
