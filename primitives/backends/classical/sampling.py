"""More frames for structure-from-motion than the question asked for, read from the input itself.

Structure-from-motion registers frames more often and more reliably when neighbouring frames are
close: 16 frames spread over a hand-held clip can share too little for COLMAP, where 40 frames
of the same clip register. `sfm_sample` reads extra frames between the requested ones from the
input the kernel was given (and the sandbox lets it read): the video file
(``context.source_path``), the files of an image sequence (``context.source_files``) or the
``color/`` images of an RGB-D folder. Structure-from-motion runs on all of them; only the
requested frames are reported. Several inputs (or none on disk) add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.context import KernelContext

SFM_FRAMES = 40
"""Frames structure-from-motion should see: extra frames are decoded until there are this many."""


@dataclass
class SfmSample:
    """The frames structure-from-motion runs on.

    Attributes:
        images: the ordered frames (H×W×3 uint8 RGB), the requested ones among them.
        positions: where each requested frame is in ``images``.
        note: how the sample was made (one sentence, for the reconstruction's info).
    """

    images: list[np.ndarray]
    positions: list[int]
    note: str


def _plan(requested: list[int], count: int, total: int) -> list[int]:
    """Frame numbers to add between the first and last requested frame so there are ``total``."""
    lo, hi = min(requested), max(requested)
    candidates = np.setdiff1d(np.arange(lo, hi + 1), requested)
    want = min(len(candidates), total - len(requested))
    if want <= 0 or hi >= count:
        return []
    picks = np.round(np.linspace(0, len(candidates) - 1, want + 2)[1:-1]).astype(int)
    return [int(candidates[p]) for p in np.unique(picks)]


def _read_extra(context: KernelContext, requested: list[int], total: int) -> dict[int, np.ndarray]:
    """Frame number → H×W×3 uint8 RGB of the extra frames, read from the kernel's input."""
    if context.source_kind == "video" and context.source_path is not None:
        from spatialclaw.inputs.video import decode_frames, probe_video

        index = probe_video(context.source_path)
        decoded: dict[int, np.ndarray] = {}
        decode_frames(index, _plan(requested, index.count, total), decoded)
        return decoded
    if context.source_kind == "images" and context.source_files:
        import cv2

        out = {}
        for i in _plan(requested, len(context.source_files), total):
            bgr = cv2.imread(str(context.source_files[i]), cv2.IMREAD_COLOR)
            if bgr is not None:
                out[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return out
    if context.source_kind == "rgbd" and context.source_path is not None:
        from spatialclaw.inputs.rgbd import read_color, scan_rgbd

        indices = list(scan_rgbd(context.source_path).indices)
        where = {number: k for k, number in enumerate(indices)}
        if not all(i in where for i in requested):
            return {}
        plan = _plan([where[i] for i in requested], len(indices), total)
        return {indices[k]: read_color(context.source_path, indices[k]) for k in plan}
    return {}


def sfm_sample(frames: list[Frame], context: KernelContext, total: int = SFM_FRAMES) -> SfmSample:
    """``frames`` plus extra frames of the same input between them, up to ``total`` frames.

    Without a readable single input (or when the frames are not its frames) the sample is
    ``frames`` themselves, and ``note`` says so.
    """
    plain = SfmSample([f.image for f in frames], list(range(len(frames))), f"structure-from-motion ran on the {len(frames)} frames given")
    requested = [f.index for f in frames]
    if len(frames) >= total or len(set(requested)) != len(requested) or len({f.source for f in frames}) != 1:
        return plain
    try:
        decoded = _read_extra(context, requested, total)
    except Exception:  # noqa: BLE001 (a file that changed or cannot be read: use the frames we have)
        return plain
    shape = frames[0].image.shape
    usable = {i: im for i, im in decoded.items() if im.shape == shape}
    if not usable:
        return plain
    images = {f.index: f.image for f in frames} | usable
    order = sorted(images)
    where = {number: k for k, number in enumerate(order)}
    return SfmSample(
        [images[i] for i in order],
        [where[i] for i in requested],
        f"structure-from-motion ran on {len(order)} frames of the input ({len(usable)} read between the {len(frames)} frames given)",
    )
