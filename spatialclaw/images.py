"""Images in and out of arrays: where a cell's image, a frame or a plot becomes a PNG.

One rule for what an image array may hold, used by ``show()``, the nested VLM calls, the learned
and classical backends alike (`as_uint8`):

- ``bool``: False → 0, True → 255;
- ``uint8``: as is;
- other integers: must lie in 0..255;
- floats: must lie in [0, 1] (NaN → 0), scaled to 0..255 and rounded.

Anything else is a ``ValueError`` that says how to fix the image, never a silent clip or
rescale.

PNG coming in from a kernel is untrusted bytes: it may not be a PNG at all, or a small file that
inflates to billions of pixels. `png_size` reads only the header (cheap, no decoding) and
`decode_png` decodes within a pixel limit (`MAX_PIXELS`) and a byte limit (`MAX_PNG_BYTES`);
both raise `ImageRejected` with a sentence the model can read. Shapes: H×W (grey), H×W×1, H×W×3 (RGB) or H×W×4 (RGBA). Only numpy is imported at
module level (the kernel and the host both use this module); PIL and OpenCV load when needed.

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
MAX_PNG_BYTES = 16 * 1024 * 1024  # largest PNG file accepted, bytes


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


def png_base64(image: Any, *, what: str = "image") -> str:
    """`encode_png` as base64 text (how images travel in JSON between the kernel and the host)."""
    return base64.b64encode(encode_png(image, what=what)).decode("ascii")


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


def decode_png(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_PNG_BYTES) -> PILImage:
    """Decode untrusted PNG bytes into a loaded PIL image (mode RGB, or RGBA with transparency).

    The header is checked first (`png_size`): the pixel count it declares bounds what decoding
    can produce (PIL caps compressed text chunks itself). Truncated or corrupt data is rejected
    rather than half-decoded.

    Raises:
        ImageRejected: not a PNG, corrupt, or over the limits.
    """
    from PIL import Image

    width, height = png_size(data, max_pixels=max_pixels, max_bytes=max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the header check above is ours
            with Image.open(io.BytesIO(bytes(data)), formats=["PNG"]) as pil:
                if pil.size != (width, height):
                    raise ImageRejected("the PNG's header is inconsistent")
                pil.load()
                mode = "RGBA" if pil.mode in ("RGBA", "LA", "PA") or "transparency" in pil.info else "RGB"
                return pil.convert(mode)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as err:
        raise ImageRejected(f"the PNG decompresses to too many pixels ({err})") from None
    except (OSError, ValueError, SyntaxError, struct.error, MemoryError, EOFError) as err:
        raise ImageRejected(f"the PNG cannot be decoded ({type(err).__name__}: {err})") from None
