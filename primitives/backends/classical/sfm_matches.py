"""Keypoints and matches found outside COLMAP (a learned matcher) written into its feature database.

`sfm_colmap.build_database` extracts and matches SIFT features itself; given a `Matcher` it
instead asks the matcher for keypoints per frame and matches per pair (`match_pairs`: the pairs
COLMAP's own exhaustive or sequential matching would use), writes them into the database
(`write_matches`) and runs COLMAP's two-view geometric verification over them, so the mappers
read the same tables either way.

A matcher is anything with a ``name`` and a ``__call__(images, pairs) -> MatchedFeatures``: the
learned backend's SuperPoint + LightGlue adapter, or a test's stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from spatialclaw.errors import PerceptionError

SIFT = "sift"
"""The name of COLMAP's own SIFT extraction and matching (the default matcher)."""


@dataclass
class MatchedFeatures:
    """What a matcher found in N frames.

    Attributes:
        keypoints: N arrays of (K_i, 2) float32 keypoint positions ``x, y`` in pixels of the frame
            given (pixel centres at integer coordinates, OpenCV's convention).
        matches: for each pair ``(i, j)`` asked for, an (M, 2) int64 array of rows
            ``(keypoint index in frame i, keypoint index in frame j)``; pairs without matches may
            be absent.
    """

    keypoints: list[np.ndarray]
    matches: dict[tuple[int, int], np.ndarray]


class Matcher(Protocol):
    """Keypoints per frame and matches per pair of frames, standing in for COLMAP's SIFT."""

    name: str
    """What it is, for reports (``"superpoint+lightglue"``)."""

    def __call__(self, images: list[np.ndarray], pairs: list[tuple[int, int]]) -> MatchedFeatures:
        """Keypoints of each of ``images`` (H×W×3 uint8 RGB) and the matches of each of ``pairs``."""
        ...


def match_pairs(count: int, *, exhaustive_up_to: int, overlap: int) -> list[tuple[int, int]]:
    """The frame pairs ``(i, j)``, ``i < j``, that COLMAP's matching would compare.

    All pairs up to ``exhaustive_up_to`` frames; beyond, each frame with its ``overlap``
    successors and with the successors ``2**k`` frames on (``k < overlap``), as COLMAP's
    sequential matching with quadratic overlap.

    >>> match_pairs(3, exhaustive_up_to=4, overlap=2)
    [(0, 1), (0, 2), (1, 2)]
    >>> match_pairs(5, exhaustive_up_to=4, overlap=1)
    [(0, 1), (1, 2), (2, 3), (3, 4)]
    """
    if count <= exhaustive_up_to:
        return [(i, j) for i in range(count) for j in range(i + 1, count)]
    pairs: set[tuple[int, int]] = set()
    for i in range(count):
        steps = set(range(1, overlap + 1)) | {2**k for k in range(overlap)}
        pairs.update((i, i + step) for step in steps if i + step < count)
    return sorted(pairs)


def checked_matches(features: MatchedFeatures, count: int) -> MatchedFeatures:
    """``features`` with keypoints as (K, 2) float32 and matches as unique in-range (M, 2) uint32 rows.

    Out-of-range rows would make COLMAP read past its keypoint arrays: they are dropped, as are
    rows that reuse a keypoint of either frame (COLMAP wants one match per keypoint and pair)
    and pairs naming a frame that is not there.

    Raises:
        PerceptionError: not one keypoint array per frame, or a malformed array.
    """
    if len(features.keypoints) != count:
        raise PerceptionError.matcher_keypoint_count(len(features.keypoints), count)
    keypoints = []
    for points in features.keypoints:
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
            raise PerceptionError.matcher_keypoint_shape(points.shape)
        keypoints.append(np.ascontiguousarray(points))
    matches: dict[tuple[int, int], np.ndarray] = {}
    for (i, j), rows in features.matches.items():
        if not (0 <= i < count and 0 <= j < count and i != j):
            continue
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        inside = (rows >= 0).all(axis=1) & (rows[:, 0] < len(keypoints[i])) & (rows[:, 1] < len(keypoints[j]))
        rows = rows[inside]
        _, first_a = np.unique(rows[:, 0], return_index=True)
        rows = rows[np.sort(first_a)]
        _, first_b = np.unique(rows[:, 1], return_index=True)
        rows = rows[np.sort(first_b)]
        if len(rows):
            matches[(int(i), int(j))] = rows.astype(np.uint32)
    return MatchedFeatures(keypoints, matches)


def write_matches(db: Path, image_dir: Path, names: list[str], reader, features: MatchedFeatures, verification) -> int:  # noqa: ANN001 (pycolmap types)
    """Fill a new COLMAP database with the frames, a matcher's keypoints and matches, and verify them.

    Keypoints move by half a pixel on the way in: COLMAP puts pixel centres at ``+0.5`` (as its
    own SIFT keypoints are stored), so the model's intrinsics mean the same with either matcher.

    Args:
        db: the database file to create.
        image_dir: the folder the frames were written to, as ``names``.
        names: image names in frame order (the order of ``features.keypoints``).
        reader: ``pycolmap.ImageReaderOptions`` with the shared camera to start from.
        features: the matcher's output, checked by `checked_matches`.
        verification: ``pycolmap.TwoViewGeometryOptions`` of the geometric verification.

    Returns:
        How many pairs passed the geometric verification.
    """
    import pycolmap

    pycolmap.Database.open(str(db)).close()  # import_images wants the database file to exist
    pycolmap.import_images(db, image_dir, camera_mode=pycolmap.CameraMode.SINGLE, image_names=names, options=reader)
    database = pycolmap.Database.open(str(db))
    try:
        ids = {image.name: image.image_id for image in database.read_all_images()}
        image_ids = [ids[name] for name in names]
        for image_id, points in zip(image_ids, features.keypoints):
            database.write_keypoints(image_id, points + np.float32(0.5))
        for (i, j), rows in features.matches.items():
            database.write_matches(image_ids[i], image_ids[j], rows)
    finally:
        database.close()
    verifier = pycolmap.GeometricVerifierOptions()
    verifier.num_threads = 1  # pairs verified in a fixed order: repeatable
    pycolmap.geometric_verification(db, verifier_options=verifier, two_view_geometry_options=verification)
    database = pycolmap.Database.open(str(db))
    try:
        return int(database.num_verified_image_pairs())
    finally:
        database.close()
