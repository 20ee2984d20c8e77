"""Append-only JSONL logs that survive a killed run: ``results.jsonl`` and ``errors.jsonl``.

Only the coordinating process writes. Each row is one ``os.write`` of a complete line on a file
opened with ``O_APPEND``, then ``fsync``: a kill leaves at most one partial last line, which
`JsonlLog.read` drops (and truncates away, so the next append starts on a fresh line).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JsonlLog:
    """One JSON object per line, appended durably.

    Args:
        path: the ``.jsonl`` file (created on the first append).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[dict[str, Any]]:
        """Every complete row; a partial last line (a write cut by a kill) is removed from the file."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
        rows = []
        for line in data[:end].splitlines():
            if line.strip():
                rows.append(json.loads(line))
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Write ``row`` as one line, durably (values JSON cannot hold are written as text)."""
        line = (json.dumps(row, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)


def relative_trajectory(trajectory: str | None, out: Path) -> str | None:
    """A run's trajectory folder relative to the evaluation's output folder (as given when it is
    on another drive), or None."""
    if trajectory is None:
        return None
    try:
        return os.path.relpath(trajectory, out)
    except ValueError:
        return trajectory
