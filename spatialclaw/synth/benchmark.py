"""Synthetic benchmarks: scenes rendered to RGB-D folders and videos, with VSI-Bench-style questions."""

from __future__ import annotations

from pathlib import Path

from spatialclaw.synth.render import render_scene
from spatialclaw.synth.scene import generate_scene
from spatialclaw.synth.write import write_rgbd, write_video

DATASET = "synth"
"""The ``dataset`` field of synthetic question records, and the folder the scenes are written to."""


def make_test_scene(
    tmp_dir: str | Path, seed: int = 0, frames: int = 16, width: int = 320, height: int = 240
) -> Path:
    """Render one small scene for tests: ``tmp_dir/synth/<name>/`` (RGB-D folder) and ``tmp_dir/synth/<name>.mp4``.

    The folder holds colour, depth, poses, intrinsics, instance masks with labels, ``meta.json``
    and ``scene.json`` (exact boxes). Takes about a second at 320×240 × 16 frames.

    Returns:
        The RGB-D folder.
    """
    scene = generate_scene(seed)
    rendering = render_scene(scene, frames, width, height)
    folder = write_rgbd(scene, rendering, Path(tmp_dir) / DATASET / scene.name)
    write_video(rendering, folder.with_suffix(".mp4"))
    return folder
