"""Frames registered into the wrong place: each registration checked against its neighbours' views.

A structure-from-motion model can join two parts of a walk wrongly (a look-alike view closes a
false loop, or rotation averaging settles on a wrong minimum) while every number it reports
looks fine: all frames registered, sub-pixel reprojection error. The feature database still
holds independent evidence: for each pair of nearby frames, the matches that survived two-view
geometric verification. If the model's relative motion between two frames is right, those
matches lie on the epipolar lines it predicts; a wrong join moves one frame of each pair across
it, and most of their matches no longer do.

`pair_agreement` measures that per pair (the fraction of verified matches whose Sampson distance
under the model's relative pose is below `AGREE_PX`); `contradicted_frames` lets the pairs' matches
vote on each join between consecutive frames and marks the frames outside the largest unbroken
part (and single frames their own pairs contradict);
`check_registrations` reads the matches from the COLMAP database and runs both. Pure numpy
apart from the database read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

AGREE_PX = 4.0
"""A verified match agrees with the model when its Sampson distance under the model's relative
pose is below this (pixels; COLMAP verifies matches at 4 px)."""

CONTRADICTS_BELOW = 0.1
"""A pair contradicts the model when it explains less than this fraction of the pair's verified
matches: a wrong relative pose explains a few percent (those that fall near its epipolar lines by
chance); a right one most of them."""

SUPPORTS_FROM = 0.5
"""A pair supports the model when it explains at least this fraction. In between (a scene that
is not rigid, an object moved by hand before a still background) the pair does not vote."""

MIN_MATCHES = 30
"""Pairs with fewer verified matches are not checked; fewer contradicting matches than this never
break a join."""

NEIGHBOUR_WINDOW = 3
"""Pairs of frames at most this many frames apart are checked."""


@dataclass(frozen=True)
class PairEvidence:
    """How well the model's relative motion explains nearby pairs' verified matches.

    Attributes:
        pairs: (P, 2) int frame positions (i < j).
        matches: (P,) int verified matches of each pair.
        agreement: (P,) float fraction of those matches the model's relative pose explains.
    """

    pairs: np.ndarray
    matches: np.ndarray
    agreement: np.ndarray


def _skew(t: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])


def pair_agreement(rays_a: np.ndarray, rays_b: np.ndarray, pose_a: np.ndarray, pose_b: np.ndarray, focal_px: float,
                   threshold_px: float = AGREE_PX) -> float:
    """Fraction of matched rays that the model's relative pose between two frames explains.

    Args:
        rays_a: (n, 2) undistorted normalised image coordinates (x/z, y/z) in frame a.
        rays_b: (n, 2) the matching coordinates in frame b.
        pose_a: 4×4 camera-to-world of frame a (any scale).
        pose_b: 4×4 camera-to-world of frame b.
        focal_px: focal length (pixels) converting normalised distances to pixels.
        threshold_px: Sampson distance (pixels) below which a match agrees.

    Returns:
        Agreeing fraction in [0, 1] (0 for no matches). Without translation the check is the
        rotation's transfer error; the epipolar constraint holds for any translation direction
        when the true motion is a pure rotation, so turning on the spot is not a false alarm.
    """
    if len(rays_a) == 0:
        return 0.0
    b_from_a = np.linalg.inv(pose_b) @ pose_a
    R, t = b_from_a[:3, :3], b_from_a[:3, 3]
    xa = np.column_stack([rays_a, np.ones(len(rays_a))])
    xb = np.column_stack([rays_b, np.ones(len(rays_b))])
    norm = float(np.linalg.norm(t))
    if norm == 0.0:
        turned = xa @ R.T
        error = np.linalg.norm(turned[:, :2] / turned[:, 2:] - rays_b, axis=1)
    else:
        E = _skew(t / norm) @ R
        line_b = xa @ E.T  # epipolar lines in b
        line_a = xb @ E  # epipolar lines in a
        residual = np.sum(xb * line_b, axis=1)
        denom = line_b[:, 0] ** 2 + line_b[:, 1] ** 2 + line_a[:, 0] ** 2 + line_a[:, 1] ** 2
        error = np.abs(residual) / np.sqrt(np.maximum(denom, 1e-300))
    return float(np.mean(error * focal_px < threshold_px))


def _weights(evidence: PairEvidence) -> tuple[np.ndarray, np.ndarray]:
    """(P,) each pair's vote for the model's placement of its two frames (the matches it explains,
    where it clearly supports it), and (P,) against it (the matches it does not explain, where it
    clearly contradicts it); 0 where the pair is undecided."""
    explained = evidence.matches * evidence.agreement
    support = np.where(evidence.agreement >= SUPPORTS_FROM, explained, 0.0)
    return support, np.where(evidence.agreement < CONTRADICTS_BELOW, evidence.matches - explained, 0.0)


def _breaks(n: int, evidence: PairEvidence) -> list[int]:
    """Cuts ``c`` (between frames c and c + 1) where the pairs across outvote the join."""
    support, against = _weights(evidence)
    i, j = evidence.pairs[:, 0], evidence.pairs[:, 1]
    cuts = []
    for c in range(n - 1):
        across = (i <= c) & (j > c)
        if against[across].sum() >= MIN_MATCHES and against[across].sum() > support[across].sum():
            cuts.append(c)
    return cuts


def _lone_frames(n: int, evidence: PairEvidence) -> np.ndarray:
    """(n,) bool: frames most of whose own pairs' matches contradict their placement."""
    support, against = _weights(evidence)
    s, a = np.zeros(n), np.zeros(n)
    for column in (0, 1):
        np.add.at(s, evidence.pairs[:, column], support)
        np.add.at(a, evidence.pairs[:, column], against)
    return (a >= MIN_MATCHES) & (a > s)


def contradicted_frames(registered: np.ndarray, evidence: PairEvidence) -> np.ndarray:
    """Registered frames whose placement the verified matches with their neighbours contradict.

    Each pair votes with its verified matches: with those the model explains for its placement of
    the two frames relative to each other when that is at least `SUPPORTS_FROM` of them, with the
    others against it when it explains under `CONTRADICTS_BELOW`, not at all in between. A join between frames c
    and c + 1 is broken where the pairs across it (one frame at or before c, one after) have more
    matches against than for (and at least `MIN_MATCHES` against): the walk falls into parts, and
    the frames outside the part with most registered frames are contradicted (on a tie, the
    earlier part is kept). A single frame cut off on both sides while the pairs that skip it
    support the join is contradicted alone (one frame placed wrongly), and so is a frame of the
    kept part most of whose pairs' matches within it are against it. Without pairs across a join there is no
    evidence either way, and nothing is marked; a few look-alike matches (a repeated texture) are
    outvoted by the true ones.

    Args:
        registered: (N,) bool; the frames the evidence was gathered over.
        evidence: the checked pairs (frame positions).

    Returns:
        (N,) bool: True for the contradicted frames.
    """
    n = len(registered)
    if len(evidence.pairs) == 0:
        return np.zeros(n, bool)
    cuts, alone = _breaks(n, evidence), np.zeros(n, bool)
    for k in range(1, n - 1):
        if k - 1 in cuts and k in cuts and _joined_without(k, evidence):
            cuts = [c for c in cuts if c not in (k - 1, k)]
            alone[k] = True
    parts = np.split(np.arange(n), [c + 1 for c in cuts])
    keep = max(parts, key=lambda part: int((registered & ~alone)[part].sum()))
    out = alone.copy()
    out[np.setdiff1d(np.arange(n), keep)] = True
    inside = ~out[evidence.pairs].any(axis=1)  # a lone frame is judged by its pairs within the kept part
    inside_evidence = PairEvidence(evidence.pairs[inside], evidence.matches[inside], evidence.agreement[inside])
    return (out | _lone_frames(n, inside_evidence)) & registered


def _joined_without(k: int, evidence: PairEvidence) -> bool:
    """Whether the pairs that skip frame ``k`` (one frame before it, one after) support the join."""
    support, against = _weights(evidence)
    i, j = evidence.pairs[:, 0], evidence.pairs[:, 1]
    skip = (i < k) & (j > k)
    return bool(support[skip].sum() > against[skip].sum())


def _rays(camera, keypoints: np.ndarray) -> np.ndarray:  # noqa: ANN001 (pycolmap Camera)
    """(n, 2) undistorted normalised coordinates of pixel ``keypoints`` (n, 2) through ``camera``."""
    return np.asarray(camera.cam_from_img(np.ascontiguousarray(keypoints, dtype=np.float64)), dtype=np.float64).reshape(-1, 2)


def check_registrations(camera, db: Path, image_ids: dict[int, int], pose: np.ndarray, registered: np.ndarray,  # noqa: ANN001
                        window: int = NEIGHBOUR_WINDOW) -> PairEvidence:
    """Check every pair of registered frames at most ``window`` apart against its verified matches.

    Args:
        camera: the model's pycolmap Camera (its intrinsics and distortion).
        db: the COLMAP database the model was built from.
        image_ids: frame position → database image id.
        pose: (N, 4, 4) camera-to-world poses of the model.
        registered: (N,) bool; only registered frames are checked.
        window: largest frame distance of a checked pair.
    """
    import pycolmap

    frames = [i for i in np.flatnonzero(registered) if int(i) in image_ids]
    pairs, matches, agreement = [], [], []
    database = pycolmap.Database.open(str(db))
    try:
        keypoints = {i: np.asarray(database.read_keypoints(image_ids[i]), dtype=np.float64)[:, :2] for i in frames}
        for k, i in enumerate(frames):
            for j in frames[k + 1:]:
                if j - i > window:
                    break
                if not database.exists_two_view_geometry(image_ids[i], image_ids[j]):
                    continue
                found = np.asarray(database.read_two_view_geometry(image_ids[i], image_ids[j]).inlier_matches, dtype=np.int64).reshape(-1, 2)
                if len(found) < MIN_MATCHES:
                    continue
                rays_i, rays_j = _rays(camera, keypoints[i][found[:, 0]]), _rays(camera, keypoints[j][found[:, 1]])
                pairs.append((int(i), int(j)))
                matches.append(len(found))
                agreement.append(pair_agreement(rays_i, rays_j, pose[i], pose[j], float(camera.mean_focal_length())))
    finally:
        database.close()
    return PairEvidence(np.array(pairs, dtype=np.int64).reshape(-1, 2), np.array(matches, dtype=np.int64), np.array(agreement))
