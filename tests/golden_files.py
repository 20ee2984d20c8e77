"""Golden files: text the code generates, pinned so that a change is reviewed.

``SPATIALCLAW_REGENERATE_GOLDEN=1 python -m pytest tests/prompts tests/primitives/test_registry.py``
rewrites every golden file from the code; review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"
REGENERATE_ENV = "SPATIALCLAW_REGENERATE_GOLDEN"


def check_golden(name: str, rendered: str) -> None:
    """Assert that ``rendered`` is the golden file ``tests/golden/<name>`` (rewrite it first when
    `REGENERATE_ENV` is set)."""
    path = GOLDEN_DIR / name
    if os.environ.get(REGENERATE_ENV):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.is_file(), f"missing {path}: run once with {REGENERATE_ENV}=1"
    assert rendered == path.read_text(), f"{name} changed: review the change, then rerun with {REGENERATE_ENV}=1"
