"""More frames for structure-from-motion than the question asked for, decoded from the input video.

Structure-from-motion registers frames more often and more reliably when neighbouring frames are
close: 16 frames spread over a hand-held clip can share too little for COLMAP, where 40 frames
of the same clip register. When the kernel's input is a video file (``context.source_path``, which
the sandbox lets the kernel read), `sfm_sample` decodes extra frames between the requested ones;
structure-from-motion runs on all of them and only the requested frames are reported. Image
folders and RGB-D inputs give the kernel only the sampled frames' pixels, so nothing is added.
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


def sfm_sample(frames: list[Frame], context: KernelContext, total: int = SFM_FRAMES) -> SfmSample:
    """``frames`` plus extra frames of the source video between them, up to ``total`` frames.

    Without a video source (or when it cannot be decoded, or the frames are not the video's
    frames) the sample is ``frames`` themselves, and ``note`` says so.
    """
    plain = SfmSample([f.image for f in frames], list(range(len(frames))), f"structure-from-motion ran on the {len(frames)} frames given")
    if len(frames) >= total or context.source_kind != "video" or context.source_path is None:
        return plain
    from spatialclaw.inputs.video import decode_frames, probe_video

    requested = [f.index for f in frames]
    if len(set(requested)) != len(requested):
        return plain
    try:
        index = probe_video(context.source_path)
        extra = _plan(requested, index.count, total)
        decoded: dict[int, np.ndarray] = {}
        decode_frames(index, extra, decoded)
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
        f"structure-from-motion ran on {len(order)} frames of the video ({len(usable)} decoded between the {len(frames)} frames given)",
    )
