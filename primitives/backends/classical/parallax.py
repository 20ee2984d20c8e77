"""How much the frames' image motion says about 3D: feature matches between frame pairs.

Depth needs parallax: a camera that moves sideways sees near things shift more than far ones.
Three kinds of input have none, and structure-from-motion on them returns confident nonsense:
a still camera (the image does not move, or only an object in front of it does), a camera
turning in place, and a flat scene (a pan or zoom over a photo). In all three, one 2D image
transform (a homography) explains the matches between any two frames. This module measures,
for a few frame pairs, how many matches there are, how far they moved, and which share of the
matches that fit the epipolar geometry a homography explains as well (`PairMotion`); the gates
(`gates.still_camera`, `gates.no_parallax`) read those numbers.

OpenCV SIFT features with Lowe's ratio test at the frames' size (or at most ``MAX_SIDE`` pixels),
RANSAC for both models; about a second for a dozen pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SIDE = 320
"""Frames are measured at this longest side at most (pixels)."""


@dataclass
class PairMotion:
    """Image motion between frame pairs (arrays of one entry per pair).

    Attributes:
        pairs: (P, 2) int frame positions (i, j), i < j.
        matches: (P,) int feature matches that pass the ratio test.
        moved: (P,) float fraction of the matches that moved more than ``still_px`` pixels
            (at the measured size).
        epipolar: (P,) int matches consistent with a fundamental matrix (RANSAC inliers).
        planar: (P,) int of those, the ones a single homography also explains.
        width: measured image width (pixels).
    """

    pairs: np.ndarray
    matches: np.ndarray
    moved: np.ndarray
    epipolar: np.ndarray
    planar: np.ndarray
    width: int

    @property
    def parallax(self) -> np.ndarray:
        """(P,) share of each pair's epipolar matches that no homography explains (0 = none); NaN without matches."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.epipolar > 0, 1.0 - self.planar / np.maximum(self.epipolar, 1), np.nan)


def frame_pairs(n: int, neighbours: int = 16, wide: int = 8) -> np.ndarray:
    """Pairs (i, j) to compare among ``n`` frames: up to ``neighbours`` pairs of consecutive
    frames spread over the video, ``wide`` pairs a quarter and a half of the video apart, and
    the first with the last.

    >>> frame_pairs(4).tolist()
    [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    """
    if n * (n - 1) // 2 <= neighbours:
        return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64).reshape(-1, 2)
    starts = np.unique(np.linspace(0, n - 2, min(neighbours, n - 1)).round().astype(int))
    chosen = {(int(i), int(i) + 1) for i in starts} | {(0, n - 1)}
    for gap in (max(2, n // 4), max(2, n // 2)):
        wide_starts = np.linspace(0, n - 1 - gap, max(1, wide // 2)).round().astype(int)
        chosen.update((int(i), int(i) + gap) for i in wide_starts)
    return np.array(sorted(chosen), dtype=np.int64)


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    f = min(1.0, MAX_SIDE / max(h, w))
    small = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA) if f < 1.0 else image
    return cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY)


def measure(images: list[np.ndarray], pairs: np.ndarray | None = None, *, still_px: float = 1.0) -> PairMotion:
    """Match ORB features between frame pairs and compare the epipolar and homography fits.

    Args:
        images: N H×W×3 uint8 RGB frames of one camera.
        pairs: (P, 2) frame positions to compare; `frame_pairs` by default.
        still_px: a match that moved less than this (pixels at the measured size) did not move.

    Returns:
        The per-pair numbers (`PairMotion`).
    """
    import cv2

    pairs = frame_pairs(len(images)) if pairs is None else np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    grays = {int(k): _gray(images[int(k)]) for k in np.unique(pairs)}
    sift = cv2.SIFT_create(nfeatures=1500)
    features = {k: sift.detectAndCompute(g, None) for k, g in grays.items()}
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    width = next(iter(grays.values())).shape[1] if grays else 0
    threshold = max(1.0, 0.004 * width)
    out = np.zeros((4, len(pairs)))
    for p, (i, j) in enumerate(pairs):
        (ki, di), (kj, dj) = features[int(i)], features[int(j)]
        if di is None or dj is None or len(ki) < 8 or len(kj) < 8:
            continue
        found = [m[0] for m in matcher.knnMatch(di, dj, k=2) if len(m) == 2 and m[0].distance < 0.75 * m[1].distance]
        a = np.float32([ki[m.queryIdx].pt for m in found])
        b = np.float32([kj[m.trainIdx].pt for m in found])
        out[0, p] = len(found)
        if len(found) < 15:
            continue
        out[1, p] = float(np.mean(np.linalg.norm(a - b, axis=1) > still_px))
        _, f_mask = cv2.findFundamentalMat(a, b, cv2.FM_RANSAC, threshold, 0.999)
        if f_mask is None:
            continue
        inl = f_mask.ravel().astype(bool)
        out[2, p] = inl.sum()
        if inl.sum() >= 8:
            _, h_mask = cv2.findHomography(a, b, cv2.RANSAC, threshold)
            if h_mask is not None:
                out[3, p] = (inl & h_mask.ravel().astype(bool)).sum()
    return PairMotion(pairs, out[0].astype(np.int64), out[1], out[2].astype(np.int64), out[3].astype(np.int64), int(width))
