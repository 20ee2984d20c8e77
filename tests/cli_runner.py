"""Run the ``spatialclaw`` command line in the test's own process."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from spatialclaw.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``spatialclaw ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def interrupt_when(ready: Callable[[], bool], timeout_s: float = 60.0) -> threading.Thread:
    """Send this process SIGINT (a real Ctrl-C) as soon as ``ready()`` is true (or after ``timeout_s``)."""

    def watch() -> None:
        end = time.monotonic() + timeout_s
        while not ready() and time.monotonic() < end:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def steps_written(folder: Path) -> int:
    """How many steps the run in ``folder`` has saved so far (0 before its first trajectory.json)."""
    try:
        return len(json.loads((folder / "trajectory.json").read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0
