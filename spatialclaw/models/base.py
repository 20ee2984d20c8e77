"""What every VLM client speaks: typed chat messages with images, completions with token usage.

The agent builds ``Message`` lists; a client turns them into its own wire format (OpenAI
chat-completions JSON with data URLs, or a transformers chat template with PIL images) and
returns a ``Completion``. Clients never import the kernel or the agent.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol, Union, runtime_checkable

import numpy as np

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, eq=False)
class Image:
    """An encoded image (JPEG or PNG bytes) as it is sent to the model.

    Attributes:
        data: the encoded file bytes.
        mime: ``"image/jpeg"`` or ``"image/png"``.
        width, height: pixel size of the encoded image.
    """

    data: bytes
    mime: str
    width: int
    height: int

    @classmethod
    def from_array(cls, image: np.ndarray, *, max_side: int | None = 768, fmt: str = "JPEG", quality: int = 85) -> Image:
        """Encode an image array (H×W×3 RGB; values by `spatialclaw.images.as_rgb`), shrinking it so
        its long edge is at most ``max_side`` pixels."""
        from PIL import Image as PILImage

        from spatialclaw.images import as_rgb

        pil = PILImage.fromarray(as_rgb(image))
        return cls.from_pil(pil, max_side=max_side, fmt=fmt, quality=quality)

    @classmethod
    def from_bytes(cls, data: bytes, *, max_side: int | None = 768, fmt: str = "JPEG", quality: int = 85) -> Image:
        """Re-encode an image file's bytes (PNG, JPEG, ...), capping its long edge at ``max_side`` pixels."""
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(data)) as pil:
            pil.load()
            return cls.from_pil(pil.convert("RGB"), max_side=max_side, fmt=fmt, quality=quality)

    @classmethod
    def from_pil(cls, pil, *, max_side: int | None = 768, fmt: str = "JPEG", quality: int = 85) -> Image:  # noqa: ANN001
        """Encode a PIL image, capping its long edge at ``max_side`` pixels (aspect ratio kept)."""
        from PIL import Image as PILImage

        if pil.mode != "RGB":
            pil = pil.convert("RGB")
        if max_side is not None and max(pil.size) > max_side:
            scale = max_side / max(pil.size)
            size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
            pil = pil.resize(size, PILImage.Resampling.BICUBIC)
        buf = io.BytesIO()
        fmt = fmt.upper()
        if fmt == "JPEG":
            pil.save(buf, format="JPEG", quality=quality)
            mime = "image/jpeg"
        elif fmt == "PNG":
            pil.save(buf, format="PNG")
            mime = "image/png"
        else:
            raise ValueError(f"unsupported image format {fmt!r}: use 'JPEG' or 'PNG'")
        return cls(buf.getvalue(), mime, pil.width, pil.height)

    @cached_property
    def _data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def data_url(self) -> str:
        """``data:<mime>;base64,...``, the form OpenAI-compatible servers accept in ``image_url``
        (encoded once per image: the first turn's frames go out with every request)."""
        return self._data_url

    def to_pil(self):  # noqa: ANN201
        """The decoded image as an RGB ``PIL.Image.Image``."""
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(self.data)) as pil:
            return pil.convert("RGB")


Part = Union[str, Image]


@dataclass
class Message:
    """One chat turn: a role and an ordered list of text and image parts."""

    role: Role
    content: list[Part]

    @property
    def text(self) -> str:
        """The text parts joined by newlines (images left out)."""
        return "\n".join(p for p in self.content if isinstance(p, str))

    @property
    def images(self) -> list[Image]:
        """The image parts, in order."""
        return [p for p in self.content if isinstance(p, Image)]


@dataclass
class Usage:
    """Token counts as the server reported them (zeros where it reported nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.requests + other.requests,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "requests": self.requests,
        }


@dataclass
class Completion:
    """A model reply.

    Attributes:
        text: the reply text.
        usage: tokens of this request (``requests`` = 1).
        duration_s: seconds spent in the client, retries and back-off included.
        request_bytes: size of the request body in bytes (last attempt).
        attempts: HTTP attempts made (1 = no retry).
        finish_reason: as the server reported it (``"stop"``, ``"length"``, ...), or None.
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    duration_s: float = 0.0
    request_bytes: int = 0
    attempts: int = 1
    finish_reason: str | None = None


@runtime_checkable
class VLMClient(Protocol):
    """A chat model that sees images. ``complete`` raises ``spatialclaw.errors.ModelError`` for
    failures the user must fix (credentials, unknown model, unreachable server)."""

    model: str

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion: ...

    def describe(self) -> dict: ...
