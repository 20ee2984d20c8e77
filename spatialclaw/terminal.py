"""What the user's terminal can show: live progress bars and spinners only on a real terminal.

Output captured by a notebook, a pipe or a CI log gets no progress escapes (``\\x1b[2K`` ...), only
the lines a command prints anyway. ``SPATIALCLAW_PROGRESS=1`` forces bars on, ``0`` off.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

ENV_PROGRESS = "SPATIALCLAW_PROGRESS"


def shows_progress(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (stderr by default) is an interactive terminal that can redraw a bar."""
    forced = os.environ.get(ENV_PROGRESS, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


def progress_console() -> Any:
    """A rich ``Console`` on stderr for progress displays; it draws nothing when stderr is not a terminal."""
    from rich.console import Console

    return Console(stderr=True, quiet=not shows_progress())
