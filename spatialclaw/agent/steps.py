"""What a run is made of: one typed record per kind of turn.

- `TaskStep`: the first user turn (question, options, budget, key frames);
- `CellStep`: the model's reply had one ``python`` cell, the kernel ran it;
- `NoCellStep`: the reply had no cell or several, nothing ran and the model was told why;
- `FinalStep`: the code-free answer turn once the cell budget is spent.

Each turns itself back into chat turns (``to_messages``) and into its ``trajectory.json`` record
(``to_record``, read back by `step_from_record`), so the prompt, the trajectory and a replay are the
same data (the smolagents ``ActionStep.to_messages`` idea). `spatialclaw.agent.conversation` puts
them together.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

from spatialclaw.agent.reply_parsing import condense_traceback
from spatialclaw.models.base import Image, Message, Usage

if TYPE_CHECKING:
    from spatialclaw.kernel.session import CellResult

PNG_AS_IS_MAX_BYTES = 150_000  # cell images heavier than this go to the model as JPEG

# What the model reads back, in one place.
NO_CELL_TEXT = (
    "No code ran: your reply had no ```python cell. Reply with your reasoning and exactly one ```python cell; "
    "call answer(...) in a cell to finish."
)
MANY_CELLS_TEXT = "No code ran: your reply had {n} ```python cells. Put all the code of this step in exactly one cell."
NO_OUTPUT_TEXT = "(the cell printed nothing)"
CELLS_LEFT_TEXT = "[{left} of {total} cells left]"
ELIDED_TEXT = "[image {k} of step {step} no longer shown, to save context]"
FRAME_LABEL_TEXT = "frames[{position}]: frame {index}, {time:.2f} s"

KeepImage = Callable[[int, int], bool]


def _keep_all(step: int, k: int) -> bool:
    return True


@dataclass
class NestedCall:
    """A VLM question a cell asked through ``ask_vlm`` or ``locate``."""

    method: str
    prompt: str
    reply: str
    usage: Usage
    duration_s: float
    result: Any = None

    def to_record(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "prompt": self.prompt,
            "reply": self.reply,
            "result": self.result,
            "usage": self.usage.to_dict(),
            "duration_s": round(self.duration_s, 4),
        }


@dataclass
class KeyFrame:
    """A frame shown in the first user turn: its ``position`` in ``frames``, its frame ``index``
    in the source, its ``time`` (seconds), the ``image`` sent and its ``file`` in the run folder."""

    position: int
    index: int
    time: float
    image: Image
    file: str

    def to_record(self) -> dict[str, Any]:
        return {"position": self.position, "index": self.index, "time": self.time, "file": self.file}


@dataclass
class TaskStep:
    """The first user turn: the rendered task prompt, then each key frame as a label line and its image."""

    text: str
    frames: list[KeyFrame] = field(default_factory=list)

    def to_messages(self) -> list[Message]:
        content: list[str | Image] = [self.text]
        for frame in self.frames:
            content += [FRAME_LABEL_TEXT.format(position=frame.position, index=frame.index, time=frame.time), frame.image]
        return [Message("user", content)]

    def to_record(self) -> dict[str, Any]:
        return {"text": self.text, "frames": [f.to_record() for f in self.frames]}

    @classmethod
    def from_record(cls, record: dict[str, Any], folder: Path) -> TaskStep:
        """The turn as sent, from the ``task`` record and the JPEG files it names."""
        from PIL import Image as PILImage

        frames = []
        for frame in record["frames"]:
            data = (folder / frame["file"]).read_bytes()
            with PILImage.open(io.BytesIO(data)) as pil:
                width, height = pil.size
            image = Image(data, "image/jpeg", width, height)
            frames.append(KeyFrame(frame["position"], frame["index"], frame["time"], image, frame["file"]))
        return cls(record["text"], frames)


@dataclass(kw_only=True)
class ModelStep:
    """What every model turn has: the reply, its tokens, its times and what its request held.

    Attributes:
        index: 1-based step number; the final answer turn is ``max_steps + 1``.
        reply: the model's text.
        usage: tokens of this step's model request.
        model_s: seconds in the model client; ``step_s``: the whole step.
        request_bytes: size of the step's request body; ``messages_sent``, ``images_sent``,
            ``images_elided``: what it held.
    """

    index: int
    reply: str
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    step_s: float = 0.0
    request_bytes: int = 0
    messages_sent: int = 0
    images_sent: int = 0
    images_elided: int = 0

    kind: ClassVar[str]
    code: ClassVar[str | None] = None
    result: ClassVar[CellResult | None] = None
    cell_s: ClassVar[float] = 0.0
    kernel_wait_s: ClassVar[float] = 0.0

    @property
    def nested_usage(self) -> Usage:
        """Tokens of the ``ask_vlm``/``locate`` calls made during this step."""
        return Usage()

    @property
    def overhead_s(self) -> float:
        """Seconds of this step spent outside the model client and the cell."""
        return max(0.0, self.step_s - self.model_s - self.cell_s - self.kernel_wait_s)

    def note_request(self, messages: list[Message], request_bytes: int, images_elided: int) -> None:
        """Record what this step's request held."""
        self.request_bytes = request_bytes
        self.messages_sent = len(messages)
        self.images_sent = sum(len(m.images) for m in messages)
        self.images_elided = images_elided

    def _record(self, **kind_fields: Any) -> dict[str, Any]:
        """The ``trajectory.json`` layout every kind shares; ``kind_fields`` fill in its own part."""
        record: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "input": {
                "messages": self.messages_sent,
                "images": self.images_sent,
                "images_elided": self.images_elided,
                "request_bytes": self.request_bytes,
            },
            "prompt": None,
            "reply": self.reply,
            "code": None,
            "output": None,
            "observation": "",
            "images": [],
            "nested": [],
            "answer": None,
            "answered": False,
        }
        record.update(kind_fields)
        record["usage"] = self.usage.to_dict()
        record["nested_usage"] = self.nested_usage.to_dict()
        record["timing"] = {
            "model_s": round(self.model_s, 4),
            "cell_s": round(self.cell_s, 4),
            "kernel_wait_s": round(self.kernel_wait_s, 4),
            "step_s": round(self.step_s, 4),
            "overhead_s": round(self.overhead_s, 4),
        }
        return record


@dataclass(kw_only=True)
class CellStep(ModelStep):
    """A reply with one cell, and what running it gave.

    Attributes:
        code: the cell that ran.
        result: the kernel's `CellResult` (None when rebuilt from a trajectory).
        observation: the text the model got back.
        images: the images (PNG or JPEG bytes) the cell returned; ``sent_images``: as sent after the observation;
            ``image_files``: their paths in the trajectory folder.
        answer, answered: the answer the cell gave through ``answer(...)``, if any.
        nested: the cell's ``ask_vlm``/``locate`` calls.
        cell_s: seconds in ``KernelSession.execute``; ``kernel_wait_s``: seconds waiting for the
            kernel to finish starting (first cell only).
    """

    kind: ClassVar[str] = "cell"
    code: str  # type: ignore[misc]
    result: CellResult | None = None  # type: ignore[misc]
    observation: str = ""
    images: list[bytes] = field(default_factory=list)
    sent_images: list[Image] = field(default_factory=list, repr=False)
    image_files: list[str] = field(default_factory=list)
    answer: Any = None
    answered: bool = False
    nested: list[NestedCall] = field(default_factory=list)
    cell_s: float = 0.0  # type: ignore[misc]
    kernel_wait_s: float = 0.0  # type: ignore[misc]

    @property
    def nested_usage(self) -> Usage:
        total = Usage()
        for call in self.nested:
            total = total + call.usage
        return total

    def to_messages(self, keep_image: KeepImage = _keep_all) -> list[Message]:
        """The reply, then the observation with the cell's images; ``keep_image(step, k)`` says
        whether image ``k`` (1-based) is still sent, an elided one leaves a one-line note."""
        content: list[str | Image] = [self.observation]
        for k, image in enumerate(self.sent_images, start=1):
            content.append(image if keep_image(self.index, k) else ELIDED_TEXT.format(k=k, step=self.index))
        return [Message("assistant", [self.reply]), Message("user", content)]

    def to_record(self) -> dict[str, Any]:
        """The step as ``trajectory.json`` stores it."""
        return self._record(
            code=self.code,
            output=_output_record(self.result) if self.result is not None else None,
            observation=self.observation,
            images=list(self.image_files),
            nested=[c.to_record() for c in self.nested],
            answer=self.answer,
            answered=self.answered,
        )

    @classmethod
    def from_record(cls, record: dict[str, Any], folder: Path, max_side: int) -> CellStep:
        """The step as the model saw it (its `CellResult` itself is not rebuilt)."""
        files = list(record.get("images", []))
        images = [(folder / rel).read_bytes() for rel in files]
        return cls(
            index=record["index"],
            reply=record["reply"],
            code=record.get("code") or "",
            observation=record.get("observation", ""),
            images=images,
            sent_images=[image_for_model(data, max_side) for data in images],
            image_files=files,
            answer=record.get("answer"),
            answered=bool(record.get("answered")),
        )


@dataclass(kw_only=True)
class NoCellStep(ModelStep):
    """A reply with no cell (``kind="no_cell"``) or several (``"many_cells"``): nothing ran and
    ``observation`` told the model why."""

    kind: Literal["no_cell", "many_cells"] = "no_cell"  # type: ignore[misc]
    observation: str = ""
    answer: ClassVar[Any] = None
    answered: ClassVar[bool] = False

    @classmethod
    def for_reply(cls, *, index: int, reply: str, cells: int, left: int, total: int, **model: Any) -> NoCellStep:
        """The step for a reply holding ``cells`` (0, or more than 1) cells, ``left`` of ``total`` cells left."""
        why = NO_CELL_TEXT if cells == 0 else MANY_CELLS_TEXT.format(n=cells)
        observation = why + "\n\n" + CELLS_LEFT_TEXT.format(left=left, total=total)
        return cls(index=index, reply=reply, kind="no_cell" if cells == 0 else "many_cells", observation=observation, **model)

    def to_messages(self, keep_image: KeepImage = _keep_all) -> list[Message]:
        """The reply, then the observation."""
        return [Message("assistant", [self.reply]), Message("user", [self.observation])]

    def to_record(self) -> dict[str, Any]:
        return self._record(observation=self.observation)

    @classmethod
    def from_record(cls, record: dict[str, Any], folder: Path, max_side: int) -> NoCellStep:
        return cls(index=record["index"], reply=record["reply"], kind=record["kind"], observation=record.get("observation", ""))


@dataclass(kw_only=True)
class FinalStep(ModelStep):
    """The code-free answer turn at the step budget: ``prompt`` asked for the answer, ``answer``
    / ``answered`` are what was read from the reply."""

    kind: ClassVar[str] = "final"
    prompt: str
    answer: Any = None
    answered: bool = False

    def to_messages(self, keep_image: KeepImage = _keep_all) -> list[Message]:
        """The question for the answer, then the reply."""
        return [Message("user", [self.prompt]), Message("assistant", [self.reply])]

    def to_record(self) -> dict[str, Any]:
        return self._record(prompt=self.prompt, answer=self.answer, answered=self.answered)

    @classmethod
    def from_record(cls, record: dict[str, Any], folder: Path, max_side: int) -> FinalStep:
        return cls(
            index=record["index"],
            reply=record["reply"],
            prompt=record.get("prompt") or "",
            answer=record.get("answer"),
            answered=bool(record.get("answered")),
        )


Step = Union[CellStep, NoCellStep, FinalStep]
_BY_KIND: dict[str, type[CellStep] | type[NoCellStep] | type[FinalStep]] = {
    "cell": CellStep,
    "no_cell": NoCellStep,
    "many_cells": NoCellStep,
    "final": FinalStep,
}


def step_from_record(record: dict[str, Any], folder: Path, max_side: int) -> Step:
    """The step a ``trajectory.json`` step record describes, its images read from ``folder``."""
    kind = record.get("kind")
    if kind not in _BY_KIND:
        raise ValueError(f"unknown step kind {kind!r} in step {record.get('index')}: expected one of {sorted(_BY_KIND)}")
    return _BY_KIND[kind].from_record(record, folder, max_side)


def _output_record(result: CellResult) -> dict[str, Any]:
    err = result.error
    return {
        "text": result.text,
        "error": None
        if err is None
        else {
            "ename": err.ename,
            "evalue": err.evalue,
            "traceback": err.traceback,
            "condensed": condense_traceback(err.ename, err.evalue, err.traceback),
        },
        "timed_out": result.timed_out,
        "restarted": result.restarted,
        "notices": list(result.notices),
        "duration_s": round(result.duration_s, 4),
    }


def observe_cell(result: CellResult, *, cells_left: int, total: int) -> str:
    """The text the model reads after its cell ran: output, condensed error, notices, budget."""
    parts = ["Output:\n" + (result.text.rstrip() if result.text.strip() else NO_OUTPUT_TEXT)]
    if result.error is not None:
        err = result.error
        parts.append("Error:\n" + condense_traceback(err.ename, err.evalue, err.traceback))
    parts += [f"Notice: {n}" for n in result.notices]
    if result.images:
        parts.append(f"{len(result.images)} image(s) below.")
    parts.append(CELLS_LEFT_TEXT.format(left=cells_left, total=total))
    return "\n\n".join(parts)


def image_for_model(data: bytes, max_side: int) -> Image:
    """A cell's image (PNG or JPEG bytes) as sent: unchanged when small enough (the bytes passed
    through, nothing decoded); shrunk to ``max_side`` when larger; and as JPEG (quality 90) when
    it is a heavy PNG, as photos are (a 640×480 frame is ~0.7 MB in PNG, ~0.1 MB in JPEG), while
    plots and masks stay lossless. ``show()`` already sends photo-like pictures as JPEG.

    Raises:
        ImageRejected: the bytes are not a PNG or JPEG within `spatialclaw.images`' limits.
    """
    from spatialclaw.images import decode_image, image_size

    mime, width, height = image_size(data)
    heavy = mime == "image/png" and len(data) > PNG_AS_IS_MAX_BYTES
    if max(width, height) <= max_side and not heavy:
        return Image(data, mime, width, height)
    lossy = heavy or mime == "image/jpeg"
    return Image.from_pil(decode_image(data), max_side=max_side, fmt="JPEG" if lossy else "PNG", quality=90)


def outcome(steps: list[Step]) -> tuple[Any, bool, Usage]:
    """The answer (the last step's, if it gave one), whether there is one, and all tokens used."""
    last = steps[-1] if steps else None
    answered = bool(last is not None and last.answered)
    usage = Usage()
    for step in steps:
        usage = usage + step.usage + step.nested_usage
    return (last.answer if answered and last is not None else None), answered, usage
