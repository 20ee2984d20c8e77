"""The run's record: what ``trajectory.json`` holds, as one dataclass the loop fills in.

`RunRecord.to_json` gives the ``spatialclaw-trajectory/1`` layout described in
`spatialclaw.agent.trajectory`; the steps are the conversation's own typed steps, so the record,
the prompt and a replay never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spatialclaw.agent.conversation import Conversation
from spatialclaw.agent.steps import outcome
from spatialclaw.agent.trajectory import FORMAT

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.kernel.session import KernelSession

INTERRUPTED_TEXT = "interrupted (Ctrl-C) before the model answered"


@dataclass
class InputSummary:
    """What the run was about: the input's ``kind``, ``paths``, the ``frames`` loaded, and the
    source's frame count and frame rate (frames per second, None for images)."""

    kind: str = "none"
    paths: list[str] = field(default_factory=list)
    frames: int = 0
    source_frame_count: int = 0
    source_fps: float | None = None

    @classmethod
    def of(cls, loaded: LoadedInput | None) -> InputSummary:
        if loaded is None:
            return cls()
        return cls(
            kind=loaded.kind,
            paths=[str(p) for p in loaded.paths],
            frames=len(loaded.frames),
            source_frame_count=loaded.source_frame_count,
            source_fps=loaded.source_fps,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "paths": list(self.paths),
            "frames": self.frames,
            "source_frame_count": self.source_frame_count,
            "source_fps": self.source_fps,
        }


@dataclass
class RunRecord:
    """One run: its question, input, settings, the conversation (steps included) and the outcome.

    Attributes:
        model: the client's ``describe()``.
        perception: the perception asked for; ``perception_info`` / ``sandbox``: what the kernel
            chose, filled in by `kernel_ready` once it has started.
        limits: ``max_steps``, ``show_frames``, ``max_side`` (pixels), ``image_budget``,
            ``cell_timeout_s`` (seconds).
        duration_s: wall-clock seconds, set when the run ends; ``error``: why it stopped early.
    """

    question: str
    options: list[str] | None
    input: InputSummary
    model: dict[str, Any]
    perception: str
    limits: dict[str, Any]
    conversation: Conversation
    perception_info: dict[str, Any] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None
    error: str | None = None

    def kernel_ready(self, session: KernelSession) -> None:
        """Take what the started kernel reports about its perception backends and sandbox."""
        self.perception_info = session.perception_info
        self.sandbox = session.sandbox_info

    def stopped(self, error: BaseException | None) -> None:
        """Note why the run stopped early (None: it did not)."""
        if isinstance(error, KeyboardInterrupt):
            self.error = INTERRUPTED_TEXT
        else:
            self.error = str(error) if error is not None else None

    def to_json(self) -> dict[str, Any]:
        """``trajectory.json``: the run's fixed part, the steps so far and the outcome."""
        steps = self.conversation.steps
        answer, answered, usage = outcome(steps)
        return {
            "format": FORMAT,
            "question": self.question,
            "options": list(self.options) if self.options else None,
            "input": self.input.to_json(),
            "config": {
                "model": self.model,
                "perception": self.perception,
                "perception_info": self.perception_info,
                "sandbox": self.sandbox,
                **self.limits,
            },
            "system_prompt": self.conversation.system,
            "task": self.conversation.task.to_record(),
            "steps": [s.to_record() for s in steps],
            "answer": answer,
            "answered": answered,
            "usage": usage.to_dict(),
            "duration_s": round(self.duration_s, 4) if self.duration_s is not None else None,
            "error": self.error,
        }

