"""Several inputs for one question: `load_inputs` / `load_input([...])` keep every input's frames in
order, say which input each frame came from, and share the frame budget between videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmark_layouts import mp4
from PIL import Image

from spatialclaw.errors import InputError
from spatialclaw.inputs.frame_cache import load_frames
from spatialclaw.inputs.load import load_input, load_inputs


def _png(path: Path, level: int) -> Path:
    Image.fromarray(np.full((8, 12, 3), level, np.uint8)).save(path)
    return path


def test_images_one_by_one_are_inputs_of_their_own(tmp_path: Path) -> None:
    paths = [_png(tmp_path / f"{k}.png", 40 * k) for k in range(3)]
    loaded = load_inputs(paths, names=["left", "front", "right"], cache_dir=tmp_path / "c")
    assert loaded.kind == "images"
    assert [(i.kind, i.name, i.frames) for i in loaded.inputs] == [("image", "left", [0]), ("image", "front", [1]), ("image", "right", [2])]
    assert [f.source for f in load_frames(loaded.frames_file)] == [0, 1, 2]
    folder = load_input(tmp_path, cache_dir=tmp_path / "c")  # a folder is one input
    assert [(i.kind, i.frames) for i in folder.inputs] == [("images", [0, 1, 2])] and {f.source for f in folder.frames} == {0}


def test_videos_share_the_frame_budget_and_keep_their_order(tmp_path: Path) -> None:
    a, b = mp4(tmp_path / "a.mp4", 30, n=12), mp4(tmp_path / "b.mp4", 200, n=12)
    loaded = load_input([a, b, _png(tmp_path / "ref.png", 90)], frames=8, cache_dir=tmp_path / "c")
    assert loaded.kind == "multi"
    assert [(i.kind, i.name, len(i.frames)) for i in loaded.inputs] == [("video", "a.mp4", 2), ("video", "b.mp4", 2), ("image", "ref.png", 1)]
    sources = [f.source for f in loaded.frames]
    assert sources == [0, 0, 1, 1, 2]
    brightness = [float(loaded.frames[i.frames[0]].image.mean()) for i in loaded.inputs]
    assert brightness[0] < 60 < 170 < brightness[1] and 80 < brightness[2] < 100
    again = load_frames(loaded.frames_file)
    assert [f.source for f in again] == sources and [f.index for f in again] == [f.index for f in loaded.frames]


def test_bad_multi_inputs_are_one_line_errors(tmp_path: Path) -> None:
    a = mp4(tmp_path / "a.mp4", 30)
    with pytest.raises(InputError, match="2 names for 1 inputs"):
        load_inputs([a], names=["x", "y"])
    with pytest.raises(InputError, match=r"missing\.mp4 does not exist"):
        load_input([a, tmp_path / "missing.mp4"])
