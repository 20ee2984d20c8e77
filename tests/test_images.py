"""`spatialclaw.images`: one dtype/range rule for every image array, one PNG encoder, one colour reader."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialclaw.images import as_rgb, as_uint8, encode_png, read_rgb


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_the_rule_scales_floats_and_passes_bytes() -> None:
    assert as_uint8(np.array([True, False])).tolist() == [255, 0]
    assert as_uint8(np.array([0.0, 0.25, np.nan, 1.0])).tolist() == [0, 64, 0, 255]
    assert as_uint8(np.array([3, 250], np.int64)).dtype == np.uint8
    same = np.arange(6, dtype=np.uint8)
    assert as_uint8(same) is same


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([0.0, 2.0]), r"float images in \[0, 1\]; this one spans \[0, 2\]"),
        (np.array([-1, 3]), r"integer images in 0..255"),
        (np.array([300], np.uint16), r"integer images in 0..255"),
    ],
)
def test_out_of_range_is_an_error_that_says_what_to_do(array: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_uint8(array, what="show()")


def test_rgb_from_grey_rgba_and_frames() -> None:
    grey = np.full((2, 3), 0.5)
    assert as_rgb(grey).shape == (2, 3, 3) and as_rgb(grey)[0, 0].tolist() == [128] * 3
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 3] = 255
    assert as_rgb(rgba).shape == (2, 3, 3)

    class FrameLike:
        image = np.ones((4, 5, 3), np.uint8)

    assert as_rgb(FrameLike()).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="got shape"):
        as_rgb(np.zeros((2, 3, 5)))


def test_png_keeps_channels_and_values() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(decode(encode_png(rgb)), rgb)
    mask = np.eye(4, dtype=bool)
    assert np.array_equal(decode(encode_png(mask)), mask.astype(np.uint8) * 255)
    pil = Image.fromarray(rgb)
    assert np.array_equal(decode(encode_png(pil)), rgb)


def test_read_rgb_is_rgb_order_and_none_for_junk(tmp_path: Path) -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200  # red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    assert read_rgb(tmp_path / "red.png")[0, 0].tolist() == [200, 0, 0]
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8junk")
    assert read_rgb(tmp_path / "junk.jpg") is None
