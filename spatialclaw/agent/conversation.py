"""Everything the model is sent, derived from the run's typed steps.

``Conversation.to_messages`` puts the system prompt, the first user turn (`TaskStep`) and the
steps' own ``to_messages`` together, eliding old step images past a budget;
``Conversation.from_trajectory`` rebuilds the same from a run folder, byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from spatialclaw.agent.steps import CellStep, Step, TaskStep, step_from_record
from spatialclaw.config import DEFAULTS
from spatialclaw.models.base import Message

DEFAULT_IMAGE_BUDGET = DEFAULTS.image_budget


@dataclass
class Conversation:
    """The system prompt, the first user turn and the steps: everything the model is sent."""

    system: str
    task: TaskStep
    steps: list[Step] = field(default_factory=list)

    def to_messages(self, image_budget: int | None = DEFAULT_IMAGE_BUDGET) -> list[Message]:
        """The chat so far. Only the newest ``image_budget`` images of steps are sent (None: all);
        the first turn's frames always are, so servers with prefix caching reuse them."""
        kept: set[tuple[int, int]] = set()
        for step in reversed(self.steps):
            for k in range(len(_sent_images(step)), 0, -1):
                if image_budget is None or len(kept) < image_budget:
                    kept.add((step.index, k))
        messages = [Message("system", [self.system]), *self.task.to_messages()]
        for step in self.steps:
            messages.extend(step.to_messages(lambda s, k: (s, k) in kept))
        return messages

    def images_elided(self, image_budget: int | None = DEFAULT_IMAGE_BUDGET) -> int:
        """How many step images `to_messages` leaves out under ``image_budget``."""
        total = sum(len(_sent_images(step)) for step in self.steps)
        return 0 if image_budget is None else max(0, total - image_budget)

    @classmethod
    def from_trajectory(cls, folder: str | Path) -> tuple[Conversation, int | None]:
        """The conversation of a finished run, rebuilt from its folder, and the run's image
        budget: ``conversation.to_messages(budget)`` is what the model was sent last."""
        folder = Path(folder)
        record = json.loads((folder / "trajectory.json").read_text())
        config = record["config"]
        steps = [step_from_record(s, folder, config["max_side"]) for s in record["steps"]]
        task = TaskStep.from_record(record["task"], folder)
        return cls(record["system_prompt"], task, steps), config["image_budget"]


def _sent_images(step: Step) -> list:
    return step.sent_images if isinstance(step, CellStep) else []
