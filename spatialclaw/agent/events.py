"""What a run reports as it goes, for a live display (`spatialclaw.agent.progress`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spatialclaw.agent.steps import Step


@dataclass
class AgentEvent:
    """Progress of a run: ``kind`` is ``"model"`` (a request is about to go out), ``"cell"``
    (``code`` is about to run) or ``"step"`` (``step`` is done)."""

    kind: Literal["model", "cell", "step"]
    index: int
    max_steps: int
    code: str | None = None
    step: Step | None = None
