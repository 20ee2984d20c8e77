"""Run the kernel's ``reconstruct()`` on a held-out walk, as a user's video, and judge it.

The walk is written as an H.264 video (`write_heldout`), loaded and sampled by
`spatialclaw.inputs.load.load_input` exactly as ``spatialclaw exec``/``ask`` do, and reconstructed
by the ``reconstruct`` primitive in a `KernelContext` that knows only the video (the backend may
read extra frames of it for structure-from-motion); the result is measured against the truth
(`accuracy.measure`) and judged by the "right or flagged" rule.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.testing.heldout import HeldoutScene, write_heldout
from spatialclaw.testing.heldout.accuracy import Verdict, measure, ray_error_deg


@dataclass
class Trial:
    """One reconstruction of a held-out walk: the verdict, the seconds it took, what it printed,
    the quality report's numbers (``quality``: `ReconstructionQuality.to_dict`, or None), and
    ``diagnosis``: ``focal_ratio`` (estimated / true focal length), ``ray_error_deg`` (median
    angle between the estimated and the true pixel rays, lens included: `accuracy.ray_error_deg`),
    ``measured_fraction`` (depth from stereo rather than filling), ``sparse_agreement`` and
    ``view_agreement`` (neighbouring views' depth agreeing within 15 %, `depth_checks`) from the
    backend's info."""

    verdict: Verdict
    seconds: float
    printed: str
    quality: dict[str, Any] | None
    diagnosis: dict[str, float] = field(default_factory=dict)


def reconstruct_video(video: Path, frames: int, cache_dir: Path, perception: str = "reconstruction=classical",
                      options: dict[str, Any] | None = None):
    """The sampled frames and the kernel's ``reconstruct()`` of ``video`` (or the
    `PerceptionError` it raised), plus everything printed meanwhile."""
    from spatialclaw import primitives
    from spatialclaw.inputs.load import load_input
    from spatialclaw.primitives.context import KernelContext

    loaded = load_input(video, frames=frames, cache_dir=cache_dir)
    context = KernelContext(frames=loaded.frames, source_kind="video", source_path=video, perception=perception,
                            cache_dir=cache_dir / "perception", options=dict(options or {}))
    namespace: dict[str, Any] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        primitives.install(namespace, context)
        try:
            result = namespace["reconstruct"]()
        except PerceptionError as error:
            result = error
    return loaded.frames, result, out.getvalue()


def judge(scene: HeldoutScene, folder: Path, frames: int, *, options: dict[str, Any] | None = None,
          perception: str = "reconstruction=classical") -> Trial:
    """Write ``scene`` into ``folder``, reconstruct ``frames`` frames of its video, and judge them."""
    video = write_heldout(scene, folder)
    start = time.perf_counter()
    sampled, result, printed = reconstruct_video(video, frames, folder / "cache", perception, options)
    seconds = time.perf_counter() - start
    if isinstance(result, PerceptionError):
        return Trial(Verdict(None, refusal=str(result)), seconds, printed, None)
    rows = np.array([f.index for f in sampled])
    accuracy = measure(np.asarray(result.depth), np.asarray(result.pose), np.asarray(result.valid),
                       scene.depth[rows], scene.poses[rows])
    quality = result.quality
    verdict = Verdict(accuracy, warnings=list(quality.warnings), scale_source=quality.scale_source)
    diagnosis = {
        "focal_ratio": float(np.asarray(result.K)[0, 0, 0] / scene.camera.K[0, 0]),
        "ray_error_deg": ray_error_deg(np.asarray(result.K)[0], result.lens(0), scene.camera),
        "measured_fraction": float(result.info.get("measured_fraction", np.nan)),
        "sparse_agreement": float(result.info.get("sparse_agreement", np.nan)),
        "view_agreement": float(result.info.get("depth_checks", {}).get("view_agreement", np.nan)),
    }
    return Trial(verdict, seconds, printed, quality.to_dict(), diagnosis)
