"""Run the ``spatialclaw`` command line in the test's own process."""

from __future__ import annotations

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
