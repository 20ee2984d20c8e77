"""`spatialclaw.images`: one dtype/range rule for every image array, PNG or JPEG for what show() sends, one colour
reader, and untrusted PNG / JPEG measured from their structure before anything decodes them."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialclaw.images import (
    JPEG_START,
    MAX_JPEG_SCANS,
    ImageRejected,
    as_rgb,
    as_uint8,
    decode_image,
    encode_for_model,
    encode_png,
    image_size,
    jpeg_size,
    looks_like_photo,
    read_rgb,
)


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


# ----------------------------------------------------------------------------- what show() sends, untrusted images in


def jpeg(image: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=90, **options)
    return buf.getvalue()


NOISE = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def test_photo_like_pictures_go_as_jpeg_and_the_rest_as_lossless_png() -> None:
    mime, data = encode_for_model(NOISE)
    assert mime == "image/jpeg" and data.startswith(JPEG_START) and decode(data).shape == NOISE.shape
    flat = np.zeros((120, 160, 3), np.uint8)
    flat[40:80, 50:90] = (200, 30, 30)  # a mask or a drawing: few colours
    assert encode_for_model(flat) == ("image/png", encode_png(flat))
    small = NOISE[:40, :40]  # too small for JPEG to matter
    mime, data = encode_for_model(small)
    assert mime == "image/png" and np.array_equal(decode(data), small)
    assert encode_for_model(np.full((120, 160), 0.5))[0] == "image/png"  # grey stays grey, lossless
    assert looks_like_photo(NOISE) and not looks_like_photo(flat)


@pytest.mark.parametrize("options", [{}, {"progressive": True}])
def test_a_jpeg_is_measured_from_its_markers(options: dict) -> None:
    data = jpeg(NOISE, **options)
    assert jpeg_size(data) == (160, 120)
    assert image_size(data) == ("image/jpeg", 160, 120)
    assert image_size(encode_png(NOISE)) == ("image/png", 160, 120)


def _with_frame_size(data: bytes, width: int, height: int) -> bytes:
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda d: d[:-200], "truncated"),  # no end-of-image marker
        (lambda d: d[:2] + b"\xff\xe0\xff\xff" + d[4:], "runs past the end"),  # a segment longer than the file
        (lambda d: _with_frame_size(d, 30000, 30000), "30000×30000"),  # a decompression bomb
        (lambda d: _with_frame_size(d, 0, 120), "empty size"),
        (lambda d: d.replace(b"\xff\xc0", b"\xff\xc9", 1), "baseline or progressive"),  # arithmetic coding
        (lambda d: d.replace(b"\xff\xc0", b"\xff\xe1", 1), "scan before its frame header"),
        (lambda d: d[: d.index(b"\xff\xda")] + b"\xff\xd9", "no frame header or no image data"),
        (lambda d: b"\xff\xd8\xffjunk", "damaged"),
    ],
)
def test_a_damaged_or_forged_jpeg_is_refused(forge, message: str) -> None:
    with pytest.raises(ImageRejected, match=message):
        jpeg_size(forge(jpeg(NOISE)))


def test_a_jpeg_of_endless_scans_is_refused() -> None:
    data = jpeg(NOISE, progressive=True)
    sos = data.index(b"\xff\xda")
    scan = data[sos : data.index(b"\xff", data.index(b"\xff\xda") + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big"))]
    many = data[:sos] + scan * (MAX_JPEG_SCANS + 1) + b"\xff\xd9"
    with pytest.raises(ImageRejected, match="scans"):
        jpeg_size(many)


def test_neither_png_nor_jpeg_is_refused_before_any_decoding() -> None:
    for data in (b"GIF89a" + b"\0" * 40, b"", "text"):
        with pytest.raises(ImageRejected):
            image_size(data)  # type: ignore[arg-type]
    with pytest.raises(ImageRejected, match="not a PNG or JPEG"):
        decode_image(b"GIF89a" + b"\0" * 40)
