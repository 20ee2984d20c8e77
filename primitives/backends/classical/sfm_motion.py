"""Checks on a video's camera motion: registrations that break it, and filling the gaps.

A video's camera moves smoothly, so structure-from-motion results can be checked against the
motion of each frame's neighbours (`pose_jumps`), and a walk that was joined wrongly shows as a
break in the path (`path_breaks`). Pure numpy; poses are N×4×4 camera-to-world.
"""

from __future__ import annotations

import numpy as np

BREAK_FACTOR = 5.0
"""A step between consecutive registered frames longer than this many median steps breaks the path."""


def similarity_align(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity (s, R, t) minimising ``||s R src + t - dst||²`` (Umeyama) over N×3 point sets."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    U, S, Vt = np.linalg.svd(xd.T @ xs / len(src))
    D = np.eye(3)
    if np.linalg.det(U @ Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / max(xs.var(0).sum(), 1e-300))
    return s, R, mu_d - s * R @ mu_s


def _turn_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (degrees) between the orientations of two 4×4 poses."""
    return float(np.degrees(np.arccos(np.clip((np.trace(a[:3, :3].T @ b[:3, :3]) - 1.0) / 2.0, -1.0, 1.0))))


def pose_jumps(pose: np.ndarray, registered: np.ndarray, *, factor: float = 4.0, max_turn_deg: float = 60.0) -> np.ndarray:
    """Registered frames whose pose breaks the continuity of the camera's motion.

    COLMAP occasionally registers a frame of a repetitive scene in a wrong place. In a video the
    camera moves smoothly, so a registered frame whose position is more than ``factor`` typical
    steps away from the midpoint of its registered neighbours, or whose orientation is more than
    ``max_turn_deg`` from both neighbours', is a wrong registration.

    Args:
        pose: N×4×4 camera-to-world; rows of unregistered frames are ignored.
        registered: N bool.
        factor: allowed deviation in median steps between consecutive registered frames.
        max_turn_deg: allowed rotation to the nearer neighbour (degrees).

    Returns:
        N bool: the frames to treat as unregistered.
    """
    known = np.flatnonzero(registered)
    out = np.zeros(len(pose), bool)
    if len(known) < 3:
        return out
    step = float(np.median(np.linalg.norm(np.diff(pose[known, :3, 3], axis=0), axis=1)))
    for k, i in enumerate(known):
        prev = known[k - 1] if k > 0 else known[k + 1]  # the first and last frames have one neighbour
        nxt = known[k + 1] if k < len(known) - 1 else known[k - 1]
        mid = 0.5 * (pose[prev, :3, 3] + pose[nxt, :3, 3])
        far = np.linalg.norm(pose[i, :3, 3] - mid) > factor * step + 0.5 * np.linalg.norm(pose[nxt, :3, 3] - pose[prev, :3, 3])
        twisted = min(_turn_deg(pose[i], pose[prev]), _turn_deg(pose[i], pose[nxt])) > max_turn_deg
        out[i] = far or twisted
    return out


def path_breaks(pose: np.ndarray, registered: np.ndarray, *, factor: float = BREAK_FACTOR) -> np.ndarray:
    """Registered frames outside the longest unbroken stretch of the camera's path.

    Two parts of a walk joined in the wrong place leave one step between consecutive registered
    frames far longer than the steps on either side of it. A hand-held camera that pauses and
    moves again changes its step length gradually over several frames, so a step is a break
    only when it is more than ``factor`` times both the step before and the step after it (per
    frame of gap) and more than ``factor`` times the median step. The frames of every stretch
    but the one with most frames are returned.

    Args:
        pose: N×4×4 camera-to-world; rows of unregistered frames are ignored.
        registered: N bool.
        factor: how many times longer than its neighbours a step must be to break the path.

    Returns:
        N bool: the frames to treat as unregistered.
    """
    known = np.flatnonzero(registered)
    out = np.zeros(len(pose), bool)
    if len(known) < 4:
        return out
    rate = np.linalg.norm(np.diff(pose[known, :3, 3], axis=0), axis=1) / np.diff(known)
    padded = np.concatenate([[0.0], rate, [0.0]])
    around = np.maximum(padded[:-2], padded[2:])
    typical = float(np.median(rate))
    cuts = np.flatnonzero((rate > factor * around) & (rate > factor * typical)) + 1
    if len(cuts) == 0:
        return out
    keep = max(np.split(known, cuts), key=len)
    out[known] = True
    out[keep] = False
    return out


def interpolate_poses(pose: np.ndarray, registered: np.ndarray) -> np.ndarray:
    """Fill the poses of unregistered frames from their registered neighbours.

    Between two registered frames the rotation is interpolated spherically and the position
    linearly (by frame position); before the first / after the last registered frame the
    nearest registered pose is repeated.

    Args:
        pose: N×4×4 camera-to-world; rows where ``registered`` is False are ignored.
        registered: N bool, at least one True.

    Returns:
        N×4×4 camera-to-world with every row filled.
    """
    from scipy.spatial.transform import Rotation, Slerp

    out = pose.copy()
    out[:, 3] = (0.0, 0.0, 0.0, 1.0)
    known = np.flatnonzero(registered)
    if len(known) == 0:
        raise ValueError("interpolate_poses needs at least one registered frame")
    missing = np.flatnonzero(~registered)
    if len(missing) == 0:
        return out
    if len(known) == 1:
        out[missing] = pose[known[0]]
        return out
    slerp = Slerp(known, Rotation.from_matrix(pose[known, :3, :3]))
    t = np.clip(missing, known[0], known[-1])
    out[missing, :3, :3] = slerp(t).as_matrix()
    for axis in range(3):
        out[missing, axis, 3] = np.interp(t, known, pose[known, axis, 3])
    return out
