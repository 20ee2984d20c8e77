"""Time in the input: the frame nearest a time, and the camera's pose between frames.

Times are seconds from the start of the source (``Frame.time``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.registry import primitive
from spatialclaw.primitives.types import Reconstruction


def _seconds(t: float, name: str) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) or not np.isfinite(float(t)):
        raise ValueError(f"{name} must be a time in seconds (a number), got {t!r}")
    return float(t)


@primitive(group="frames")
def frame_at(t: float, *, context: KernelContext) -> int:
    """The position in `frames` of the frame nearest to time `t` (seconds from the start of the video).

    Args:
        t: time in seconds (`frames[i].time` is frame i's time).

    Returns:
        i such that `frames[i].time` is closest to `t` (the earlier one on a tie).

    Example:
        i = frame_at(4.5); print(i, frames[i].time)
    """
    seconds = _seconds(t, "t")
    frames = context.frames
    if not frames:
        raise ValueError("there are no frames in this kernel")
    times = np.array([f.time for f in frames])
    return int(np.argmin(np.abs(times - seconds)))


def pose_at(recon: Reconstruction, t: float, times: Sequence[float]) -> np.ndarray:
    """4×4 camera-to-world pose at time ``t`` seconds, interpolated between the reconstruction's frames.

    ``times``: seconds of each of the kernel's frames (``times[frame id]``; a frame id beyond
    them stands for its time). Positions are interpolated linearly and rotations spherically
    between the two entries around ``t``; outside the reconstruction's time span the first /
    last pose is returned.
    """
    from scipy.spatial.transform import Rotation, Slerp

    seconds = _seconds(t, "t")
    dated = np.array([float(times[int(i)]) if int(i) < len(times) else float(i) for i in recon.frame_ids])
    order = np.argsort(dated, kind="stable")
    stamps, poses = dated[order], recon.pose[order]
    if seconds <= stamps[0] or len(stamps) == 1:
        return poses[0].copy()
    if seconds >= stamps[-1]:
        return poses[-1].copy()
    b = int(np.searchsorted(stamps, seconds, side="right"))
    a = b - 1
    span = stamps[b] - stamps[a]
    w = 0.0 if span <= 0 else (seconds - stamps[a]) / span
    out = np.eye(4)
    out[:3, 3] = (1 - w) * poses[a, :3, 3] + w * poses[b, :3, 3]
    slerp = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([poses[a, :3, :3], poses[b, :3, :3]])))
    out[:3, :3] = slerp([w]).as_matrix()[0]
    return out
