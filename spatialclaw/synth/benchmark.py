"""Synthetic benchmarks: scenes rendered to RGB-D folders and videos, with VSI-Bench-style questions.

Layout of a benchmark folder ``OUT``::

    OUT/questions.jsonl            VSI-Bench records (dataset "synth")
    OUT/synth/<scene_name>/        RGB-D folder in the ScanNet layout (+ scene.json)
    OUT/synth/<scene_name>.mp4     the same frames as an H.264 video
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from spatialclaw.errors import ConfigError
from spatialclaw.synth.motion import with_motion
from spatialclaw.synth.questions import make_questions
from spatialclaw.synth.render import render_scene
from spatialclaw.synth.scene import generate_scene
from spatialclaw.synth.write import write_rgbd, write_video

DATASET = "synth"
"""The ``dataset`` field of synthetic question records, and the folder the scenes are written to."""

QUESTIONS_FILE = "questions.jsonl"


def scene_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th scene of a benchmark made with ``seed``."""
    return seed * 100_000 + index


def make_test_scene(
    tmp_dir: str | Path, seed: int = 0, frames: int = 16, width: int = 320, height: int = 240, moving: int = 0
) -> Path:
    """Render one small scene for tests: ``tmp_dir/synth/synth_<seed>/`` (RGB-D folder) and ``tmp_dir/synth/synth_<seed>.mp4``.

    The folder holds colour, depth, poses, intrinsics, instance masks with labels, ``meta.json``
    and ``scene.json`` (exact boxes). Takes about a second at 320×240 × 16 frames (plus open3d's import).
    ``moving`` objects slide across the floor (see `spatialclaw.synth.motion`).

    Returns:
        The RGB-D folder.
    """
    scene = with_motion(generate_scene(seed), moving, frames)
    rendering = render_scene(scene, frames, width, height)
    folder = write_rgbd(scene, rendering, Path(tmp_dir) / DATASET / scene.name)
    write_video(rendering, folder.with_suffix(".mp4"))
    return folder


def make_benchmark(
    out_dir: str | Path,
    scenes: int = 10,
    seed: int = 0,
    frames: int = 32,
    width: int = 640,
    height: int = 480,
    *,
    moving: int = 0,
    on_frame: Callable[[str, int], None] | None = None,
) -> Path:
    """Render ``scenes`` rooms and write them with their questions under ``out_dir``.

    The same arguments give byte-identical ``questions.jsonl`` and identical images.

    Args:
        out_dir: the benchmark folder (created; existing scenes of the same names are overwritten).
        scenes: how many rooms.
        seed: seed of the whole benchmark (scene ``i`` uses :func:`scene_seed`).
        frames: frames per room.
        width: image width, pixels (even: the video is yuv420p).
        height: image height, pixels (even).
        moving: objects per room that slide across the floor at constant speeds (0: static rooms,
            exactly as without motion); adds the motion questions.
        on_frame: called with (scene name, frame index) after each rendered frame (progress bars).

    Returns:
        The path of ``questions.jsonl``.

    Raises:
        ConfigError: a size or count is out of range.
    """
    if moving < 0:
        raise ConfigError.bad_moving(moving)
    if scenes < 1 or frames < 2:
        raise ConfigError.too_small_synth(scenes, frames)
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ConfigError.bad_image_size(width, height)
    out = Path(out_dir)
    (out / DATASET).mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    for i in range(scenes):
        scene = with_motion(generate_scene(scene_seed(seed, i)), moving, frames)
        callback = None if on_frame is None else (lambda k, name=scene.name: on_frame(name, k))
        rendering = render_scene(scene, frames, width, height, on_frame=callback)
        folder = write_rgbd(scene, rendering, out / DATASET / scene.name)
        write_video(rendering, folder.with_suffix(".mp4"))
        records += make_questions(scene, rendering, dataset=DATASET, start_id=len(records))
    path = out / QUESTIONS_FILE
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
