"""SpatialClaw: answer spatial questions about videos and images by letting a VLM write code.

The public API is imported lazily so that ``import spatialclaw`` (and the CLI) start fast:

    from spatialclaw import ask, Agent, KernelSession, RunConfig, load_input
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Frame": "spatialclaw.inputs.frame",
    "load_input": "spatialclaw.inputs.load",
    "KernelSession": "spatialclaw.kernel.session",
    "CellResult": "spatialclaw.kernel.session",
    "Agent": "spatialclaw.agent.loop",
    "Result": "spatialclaw.agent.loop",
    "ask": "spatialclaw.agent.loop",
    "SpatialClawError": "spatialclaw.errors",
    "RunConfig": "spatialclaw.config",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spatialclaw' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
