"""Images in and out of arrays: where a cell's image, a frame or a plot becomes a PNG.

One rule for what an image array may hold, used by ``show()``, the nested VLM calls, the learned
and classical backends alike (`as_uint8`):

- ``bool``: False → 0, True → 255;
- ``uint8``: as is;
- other integers: must lie in 0..255;
- floats: must lie in [0, 1] (NaN → 0), scaled to 0..255 and rounded.

Anything else is a ``ValueError`` that says how to fix the image, never a silent clip or
rescale.

What ``show()`` sends (`encode_for_model`): photo-like pictures (`looks_like_photo`) as JPEG of
quality `JPEG_QUALITY`, encoded in the kernel (a 640×480 photo: ~2 ms, where PNG takes ~80 ms and
~4× the bytes), everything else (plots, masks, small or few-coloured images) as lossless PNG.

Images coming in from a kernel are untrusted bytes: they may not be an image at all, or a small
file that inflates to billions of pixels. `image_size` reads only the structure (cheap, no
decoding: a PNG's header, a JPEG's markers, `png_size` / `jpeg_size`) within a pixel limit
(`MAX_PIXELS`) and a byte limit (`MAX_PNG_BYTES`), and `decode_image` decodes within the same
limits; all raise `ImageRejected` with a sentence the model can read. Shapes: H×W (grey),
H×W×1, H×W×3 (RGB) or H×W×4 (RGBA). Only numpy is imported at module level (the kernel and the
host both use this module); PIL and OpenCV load when needed.

>>> as_uint8(np.array([[0.0, 0.5, 1.0]])).tolist()
[[0, 128, 255]]
>>> encode_png(np.zeros((2, 3, 3), np.uint8))[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import base64
import io
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 40_000_000  # largest image accepted (width × height), e.g. 8000 × 5000
MAX_PNG_BYTES = 16 * 1024 * 1024  # largest image file (PNG or JPEG) accepted, bytes
JPEG_START = b"\xff\xd8\xff"
JPEG_QUALITY = 90  # what photo-like pictures are sent at (the model reads them as well as PNG)
PHOTO_MIN_PIXELS = 96 * 96  # smaller pictures stay PNG: JPEG would save little
PHOTO_MIN_COLOURS = 1024  # distinct colours among `_COLOUR_SAMPLE` pixels above which a picture is a photo
_COLOUR_SAMPLE = 4096
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2}  # baseline, extended and progressive Huffman JPEG: what every decoder reads
MAX_JPEG_SCANS = 64  # a progressive JPEG has about 10; thousands of tiny scans are a decoding-time bomb


def as_uint8(array: Any, *, what: str = "image") -> np.ndarray:
    """``array`` as uint8 by the module's dtype/range rule (shape unchanged).

    Raises:
        ValueError: integers outside 0..255 or floats outside [0, 1]; ``what`` names the image
            in the message (e.g. ``"show()"``).
    """
    arr = np.asarray(array)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
            raise ValueError(
                f"{what} takes float images in [0, 1]; this one spans [{finite.min():.3g}, {finite.max():.3g}] "
                "(normalise it, or convert to uint8)"
            )
        return (np.nan_to_num(arr, nan=0.0).clip(0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(f"{what} takes integer images in 0..255; this {arr.dtype} one is outside that range")
        return arr.astype(np.uint8)
    raise ValueError(f"{what} takes numeric image arrays, got dtype {arr.dtype}")


def _check_shape(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))) or arr.size == 0:
        raise ValueError(f"{what} takes an H×W, H×W×3 or H×W×4 image array, got shape {arr.shape}")
    return arr


def as_rgb(image: Any, *, what: str = "image") -> np.ndarray:
    """An H×W×3 uint8 RGB array (C-contiguous) from an array, a ``Frame`` (``.image``) or a PIL
    image: grey is repeated over the channels, alpha dropped, values by `as_uint8`."""
    arr = _check_shape(np.asarray(getattr(image, "image", image)), what)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(as_uint8(arr[:, :, :3], what=what))


def encode_png(image: Any, *, what: str = "image") -> bytes:
    """PNG bytes of an image array (grey, RGB or RGBA kept as they are, values by `as_uint8`) or a
    PIL image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        pil = image
    else:
        pil = Image.fromarray(np.ascontiguousarray(as_uint8(_check_shape(np.asarray(image), what), what=what)))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def looks_like_photo(image: np.ndarray) -> bool:
    """Whether an image array (H×W×3 uint8 RGB) is photo-like: large and with many distinct
    colours (counted on a sample of pixels), so lossless PNG would be heavy and gain nothing
    visible; plots, masks, drawings and small images are not."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] * image.shape[1] < PHOTO_MIN_PIXELS:
        return False
    pixels = image.reshape(-1, 3)
    sample = pixels[:: max(1, len(pixels) // _COLOUR_SAMPLE)].astype(np.uint32)
    return len(np.unique(sample[:, 0] << 16 | sample[:, 1] << 8 | sample[:, 2])) > PHOTO_MIN_COLOURS


def encode_for_model(image: Any, *, what: str = "image") -> tuple[str, bytes]:
    """``(MIME type, bytes)`` of an image array or PIL image as ``show()`` sends it: JPEG (quality
    `JPEG_QUALITY`) when it `looks_like_photo`, else PNG (grey and alpha kept, values by `as_uint8`)."""
    from PIL import Image

    arr = np.asarray(image) if isinstance(image, Image.Image) else as_uint8(_check_shape(np.asarray(image), what), what=what)
    if arr.dtype == np.uint8 and looks_like_photo(arr):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="JPEG", quality=JPEG_QUALITY)
        return "image/jpeg", buf.getvalue()
    return "image/png", encode_png(image, what=what)


def png_base64(image: Any, *, what: str = "image") -> str:
    """`encode_png` as base64 text (how images travel in JSON between the kernel and the host)."""
    return base64.b64encode(encode_png(image, what=what)).decode("ascii")


def image_suffix(data: bytes) -> str:
    """The file suffix of PNG or JPEG bytes (``".jpg"`` or ``".png"``), from their signature."""
    return ".jpg" if bytes(data[:3]) == JPEG_START else ".png"


def mime_of_file(name: str | Path) -> str:
    """``"image/jpeg"`` for a ``.jpg``/``.jpeg`` file name, else ``"image/png"``."""
    return "image/jpeg" if Path(name).suffix.lower() in (".jpg", ".jpeg") else "image/png"


def read_rgb(path: str | Path) -> np.ndarray | None:
    """A colour image file (JPEG, PNG, ...) as H×W×3 uint8 RGB, or None when it cannot be decoded
    (the caller says what to do about it)."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ----------------------------------------------------------------------------- untrusted PNG in


class ImageRejected(ValueError):
    """An image that is not a PNG, is truncated, or is too large (in bytes or pixels)."""


def png_size(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_PNG_BYTES) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header, checked against the limits without decoding.

    Raises:
        ImageRejected: not a PNG, or larger than ``max_bytes`` bytes or ``max_pixels`` pixels.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise ImageRejected(f"an image must be PNG bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise ImageRejected(f"the PNG is {len(data) / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB allowed")
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ImageRejected("the data is not a PNG image (no PNG signature and header)")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise ImageRejected(f"the PNG has an empty size ({width}×{height})")
    if width * height > max_pixels:
        raise ImageRejected(
            f"the PNG is {width}×{height} pixels, more than the {max_pixels:,} allowed: make it smaller"
        )
    return width, height


def _check_bytes(data: Any, max_bytes: int) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise ImageRejected(f"an image must be PNG or JPEG bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise ImageRejected(f"the image is {len(data) / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB allowed")


def _check_pixels(kind: str, width: int, height: int, max_pixels: int) -> None:
    if width == 0 or height == 0:
        raise ImageRejected(f"the {kind} has an empty size ({width}×{height})")
    if width * height > max_pixels:
        raise ImageRejected(f"the {kind} is {width}×{height} pixels, more than the {max_pixels:,} allowed: make it smaller")


def _after_scan(data: bytes, pos: int) -> int:
    """Where the entropy-coded data of a JPEG scan starting at ``pos`` ends: the next marker
    (``FF`` not followed by a stuffed ``00`` or a restart marker)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ImageRejected("the JPEG is truncated (no end of image)")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def jpeg_size(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_PNG_BYTES) -> tuple[int, int]:
    """(width, height) in pixels from a JPEG's frame header, after walking its markers from the
    start to the end-of-image marker (no decoding): one baseline or progressive frame, at most
    `MAX_JPEG_SCANS` scans, every segment inside the data.

    Raises:
        ImageRejected: not a JPEG, truncated, of a kind decoders may not read, or over the limits.
    """
    _check_bytes(data, max_bytes)
    if not data.startswith(JPEG_START):
        raise ImageRejected("the data is not a JPEG image (no JPEG start marker)")
    size: tuple[int, int] | None = None
    pos, scans = 2, 0
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ImageRejected("the JPEG is damaged or truncated (a marker is missing)")
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # fill byte, standalone markers
            pos += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            raise ImageRejected("the JPEG is damaged or truncated (a segment runs past the end)")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in _JPEG_FRAMES or size is not None or length < 8:
                raise ImageRejected("the JPEG is not a baseline or progressive image with one frame")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            _check_pixels("JPEG", width, height, max_pixels)
            size = (width, height)
        pos += 2 + length
        if marker == 0xDA:
            scans += 1
            if size is None or scans > MAX_JPEG_SCANS:
                raise ImageRejected(f"the JPEG has a scan before its frame header or more than {MAX_JPEG_SCANS} scans")
            pos = _after_scan(data, pos)
    if size is None or scans == 0:
        raise ImageRejected("the JPEG has no frame header or no image data")
    return size


def image_size(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_PNG_BYTES) -> tuple[str, int, int]:
    """``(MIME type, width, height)`` of PNG or JPEG bytes, from their structure only (`png_size`,
    `jpeg_size`).

    Raises:
        ImageRejected: neither a PNG nor a JPEG, damaged, or over the limits.
    """
    if isinstance(data, (bytes, bytearray)) and data.startswith(JPEG_START):
        return ("image/jpeg", *jpeg_size(data, max_pixels=max_pixels, max_bytes=max_bytes))
    if isinstance(data, (bytes, bytearray)) and not data.startswith(PNG_SIGNATURE):
        raise ImageRejected("the data is not a PNG or JPEG image")
    return ("image/png", *png_size(data, max_pixels=max_pixels, max_bytes=max_bytes))


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_PNG_BYTES) -> PILImage:
    """Decode untrusted PNG or JPEG bytes into a loaded PIL image (mode RGB, or RGBA with transparency).

    The structure is checked first (`image_size`): the pixel count it declares bounds what
    decoding can produce (PIL caps compressed text chunks itself). Truncated or corrupt data is
    rejected rather than half-decoded.

    Raises:
        ImageRejected: not a PNG or JPEG, corrupt, or over the limits.
    """
    from PIL import Image

    mime, width, height = image_size(data, max_pixels=max_pixels, max_bytes=max_bytes)
    kind = "JPEG" if mime == "image/jpeg" else "PNG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the header check above is ours
            with Image.open(io.BytesIO(bytes(data)), formats=[kind]) as pil:
                if pil.size != (width, height):
                    raise ImageRejected(f"the {kind}'s header is inconsistent")
                pil.load()
                mode = "RGBA" if pil.mode in ("RGBA", "LA", "PA") or "transparency" in pil.info else "RGB"
                return pil.convert(mode)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as err:
        raise ImageRejected(f"the {kind} decompresses to too many pixels ({err})") from None
    except (OSError, ValueError, SyntaxError, struct.error, MemoryError, EOFError) as err:
        raise ImageRejected(f"the {kind} cannot be decoded ({type(err).__name__}: {err})") from None
