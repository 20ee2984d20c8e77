"""What a run is made of: typed step records, and the conversation derived from them.

Each `Step` holds one model turn and what came of it; ``Step.to_messages`` turns it back into
chat turns, and ``Conversation.to_messages`` puts the system prompt, the first user turn and the
steps together, eliding old step images past a budget. The prompt, the trajectory and a replay
are therefore the same data (the smolagents ``ActionStep.to_messages`` idea).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spatialclaw.models.base import Image, Message, Usage
from spatialclaw.agent.reply_parsing import condense_traceback

if TYPE_CHECKING:
    from spatialclaw.kernel.session import CellResult

DEFAULT_IMAGE_BUDGET = 8
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

StepKind = Literal["cell", "no_cell", "many_cells", "final"]


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
class Step:
    """One model turn and what came of it.

    Attributes:
        index: 1-based step number; the final answer turn is ``max_steps + 1``.
        kind: ``"cell"`` (one cell ran), ``"no_cell"`` / ``"many_cells"`` (nothing ran, the
            model was told why) or ``"final"`` (the code-free answer turn at the step budget).
        reply: the model's text.
        code: the cell that ran, or None.
        result: the kernel's `CellResult`, or None.
        observation: the text the model got back for this step.
        images: PNG images the cell returned (sent back after the observation).
        prompt: for the final turn, the user text that asked for the answer.
        answer, answered: the answer given in this step, if any.
        usage: tokens of this step's model request; ``nested_usage`` of its ``ask_vlm``/``locate`` calls.
        model_s: seconds in the model client; ``cell_s``: seconds in ``KernelSession.execute``;
            ``kernel_wait_s``: seconds waiting for the kernel to finish starting (first cell only);
            ``step_s``: the whole step, so ``step_s - model_s - cell_s - kernel_wait_s`` is the
            agent's own overhead.
        request_bytes: size of the step's request body; ``messages_sent``, ``images_sent``,
            ``images_elided``: what it held.
        image_files: the images' paths in the trajectory folder.
    """

    index: int
    kind: StepKind
    reply: str
    code: str | None = None
    result: CellResult | None = None
    observation: str = ""
    images: list[bytes] = field(default_factory=list)
    prompt: str | None = None
    answer: Any = None
    answered: bool = False
    usage: Usage = field(default_factory=Usage)
    nested: list[NestedCall] = field(default_factory=list)
    model_s: float = 0.0
    cell_s: float = 0.0
    kernel_wait_s: float = 0.0
    step_s: float = 0.0
    request_bytes: int = 0
    messages_sent: int = 0
    images_sent: int = 0
    images_elided: int = 0
    image_files: list[str] = field(default_factory=list)
    sent_images: list[Image] = field(default_factory=list, repr=False)

    @property
    def nested_usage(self) -> Usage:
        total = Usage()
        for call in self.nested:
            total = total + call.usage
        return total

    @property
    def overhead_s(self) -> float:
        """Seconds of this step spent outside the model client and the cell."""
        return max(0.0, self.step_s - self.model_s - self.cell_s - self.kernel_wait_s)

    def to_messages(self, keep_image: Callable[[int, int], bool] = lambda step, k: True) -> list[Message]:
        """This step as chat turns: the reply, then the observation (for the final turn: the
        question for the answer, then the reply). ``keep_image(step, k)`` says whether image
        ``k`` (1-based) is still sent; an elided one leaves a one-line note."""
        if self.kind == "final":
            return [Message("user", [self.prompt or ""]), Message("assistant", [self.reply])]
        content: list[str | Image] = [self.observation]
        for k, image in enumerate(self.sent_images, start=1):
            content.append(image if keep_image(self.index, k) else ELIDED_TEXT.format(k=k, step=self.index))
        return [Message("assistant", [self.reply]), Message("user", content)]

    def to_record(self) -> dict[str, Any]:
        """The step as ``trajectory.json`` stores it."""
        output = None
        if self.result is not None:
            err = self.result.error
            output = {
                "text": self.result.text,
                "error": None
                if err is None
                else {
                    "ename": err.ename,
                    "evalue": err.evalue,
                    "traceback": err.traceback,
                    "condensed": condense_traceback(err.ename, err.evalue, err.traceback),
                },
                "timed_out": self.result.timed_out,
                "restarted": self.result.restarted,
                "notices": list(self.result.notices),
                "duration_s": round(self.result.duration_s, 4),
            }
        return {
            "index": self.index,
            "kind": self.kind,
            "input": {
                "messages": self.messages_sent,
                "images": self.images_sent,
                "images_elided": self.images_elided,
                "request_bytes": self.request_bytes,
            },
            "prompt": self.prompt,
            "reply": self.reply,
            "code": self.code,
            "output": output,
            "observation": self.observation,
            "images": list(self.image_files),
            "nested": [c.to_record() for c in self.nested],
            "answer": self.answer,
            "answered": self.answered,
            "usage": self.usage.to_dict(),
            "nested_usage": self.nested_usage.to_dict(),
            "timing": {
                "model_s": round(self.model_s, 4),
                "cell_s": round(self.cell_s, 4),
                "kernel_wait_s": round(self.kernel_wait_s, 4),
                "step_s": round(self.step_s, 4),
                "overhead_s": round(self.overhead_s, 4),
            },
        }


    @classmethod
    def from_record(cls, record: dict[str, Any], folder: Path, max_side: int) -> Step:
        """The step as the model saw it, from its ``trajectory.json`` record and image files
        (the cell's `CellResult` itself is not rebuilt)."""
        images = [(folder / rel).read_bytes() for rel in record.get("images", [])]
        return cls(
            index=record["index"],
            kind=record["kind"],
            reply=record["reply"],
            code=record.get("code"),
            observation=record.get("observation", ""),
            images=images,
            prompt=record.get("prompt"),
            answer=record.get("answer"),
            answered=bool(record.get("answered")),
            image_files=list(record.get("images", [])),
            sent_images=[image_for_model(png, max_side) for png in images],
        )


def task_message(text: str, shown: list[tuple[int, int, float, Image]]) -> Message:
    """The first user turn: ``text``, then each key frame as a label line and its image.

    Args:
        text: the rendered task prompt (question, options, budget).
        shown: ``(position in frames, frame index, time in seconds, image)`` per key frame.
    """
    content: list[str | Image] = [text]
    for position, index, time_s, image in shown:
        content += [FRAME_LABEL_TEXT.format(position=position, index=index, time=time_s), image]
    return Message("user", content)


@dataclass
class Conversation:
    """The system prompt, the first user turn and the steps: everything the model is sent."""

    system: str
    task: Message
    steps: list[Step] = field(default_factory=list)

    def to_messages(self, image_budget: int | None = DEFAULT_IMAGE_BUDGET) -> list[Message]:
        """The chat so far. Only the newest ``image_budget`` images of steps are sent (None: all);
        the first turn's frames always are, so servers with prefix caching reuse them."""
        kept: set[tuple[int, int]] = set()
        for step in reversed(self.steps):
            for k in range(len(step.sent_images), 0, -1):
                if image_budget is None or len(kept) < image_budget:
                    kept.add((step.index, k))
        messages = [Message("system", [self.system]), self.task]
        for step in self.steps:
            messages.extend(step.to_messages(lambda s, k: (s, k) in kept))
        return messages

    @classmethod
    def from_trajectory(cls, folder: str | Path) -> tuple[Conversation, int | None]:
        """The conversation of a finished run, rebuilt from its folder, and the run's image
        budget: ``conversation.to_messages(budget)`` is what the model was sent last."""
        from PIL import Image as PILImage

        folder = Path(folder)
        record = json.loads((folder / "trajectory.json").read_text())
        config = record["config"]
        shown = []
        for frame in record["task"]["frames"]:
            data = (folder / frame["file"]).read_bytes()
            with PILImage.open(io.BytesIO(data)) as pil:
                width, height = pil.size
            shown.append((frame["position"], frame["index"], frame["time"], Image(data, "image/jpeg", width, height)))
        steps = [Step.from_record(s, folder, config["max_side"]) for s in record["steps"]]
        task = task_message(record["task"]["text"], shown)
        return cls(record["system_prompt"], task, steps), config["image_budget"]

    def images_elided(self, image_budget: int | None = DEFAULT_IMAGE_BUDGET) -> int:
        """How many step images `to_messages` leaves out under ``image_budget``."""
        total = sum(len(step.sent_images) for step in self.steps)
        return 0 if image_budget is None else max(0, total - image_budget)


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


def image_for_model(png: bytes, max_side: int) -> Image:
    """A cell's PNG as sent: unchanged when small enough; shrunk to ``max_side`` when larger; and
    as JPEG (quality 90) when the PNG is heavy, as photos are (a 640×480 frame is ~0.7 MB in PNG,
    ~0.1 MB in JPEG), while plots and masks stay lossless."""
    from PIL import Image as PILImage

    heavy = len(png) > PNG_AS_IS_MAX_BYTES
    with PILImage.open(io.BytesIO(png)) as pil:
        width, height = pil.size
        if max(width, height) <= max_side and not heavy:
            return Image(png, "image/png", width, height)
        pil.load()
        return Image.from_pil(pil, max_side=max_side, fmt="JPEG" if heavy else "PNG", quality=90)


def outcome(steps: list[Step]) -> tuple[Any, bool, Usage]:
    """The answer (the last step's, if it gave one), whether there is one, and all tokens used."""
    last = steps[-1] if steps else None
    answered = bool(last is not None and last.answered)
    usage = Usage()
    for step in steps:
        usage = usage + step.usage + step.nested_usage
    return (last.answer if answered and last is not None else None), answered, usage
