"""`write_h264` writes a video that decodes back to the frames, and to the same frames every time."""

from __future__ import annotations

import av
import numpy as np
import pytest

from spatialclaw.inputs.video import write_h264
from spatialclaw.testing.heldout import render_heldout


def decoded(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])])


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    # a held-out walk: noise, vignetting and exposure changes are what made libx264's
    # macroblock-tree rate control choose differently from one encode to the next
    return render_heldout(0, frames=12, width=160, height=120).rgb


def test_writing_the_same_frames_again_gives_the_same_video(frames, tmp_path):
    first = decoded(write_h264(frames, tmp_path / "0.mp4", 10.0))
    for i in range(1, 4):
        assert np.array_equal(decoded(write_h264(frames, tmp_path / f"{i}.mp4", 10.0)), first), f"encode {i} differs"


def test_the_video_decodes_to_the_frames(frames, tmp_path):
    video = decoded(write_h264(frames, tmp_path / "sub" / "v.mp4", 10.0))
    assert video.shape == frames.shape
    assert np.abs(video.astype(int) - frames).mean() < 6  # crf 18, chroma subsampled


def test_no_frames_is_an_error_not_an_empty_file(tmp_path):
    with pytest.raises(ValueError, match="at least one frame"):
        write_h264([], tmp_path / "none.mp4", 10.0)
