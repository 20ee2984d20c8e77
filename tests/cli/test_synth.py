"""`spatialclaw synth` through the entry point: its output when captured (no progress escapes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import run_cli


def test_synth_captured_prints_one_line_and_no_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["synth", str(tmp_path / "b"), "--scenes", "1", "--frames", "4", "--width", "64", "--height", "48"], capsys)
    assert code == 0, err
    assert out.splitlines() == [f"wrote 1 scene(s) under {tmp_path / 'b' / 'synth'} and {out.split(' and ')[1].split()[0]} questions to {tmp_path / 'b' / 'questions.jsonl'}"]
    assert err == ""  # no bar, no blank line, no escapes when stderr is not a terminal


def test_progress_shows_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from spatialclaw.terminal import shows_progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("SPATIALCLAW_PROGRESS", raising=False)
    assert shows_progress(Tty()) and not shows_progress(io.StringIO())
    monkeypatch.setenv("SPATIALCLAW_PROGRESS", "0")
    assert not shows_progress(Tty())
    monkeypatch.setenv("SPATIALCLAW_PROGRESS", "1")
    assert shows_progress(io.StringIO())
