"""`spatialclaw view` on a run still in progress (the page itself: tests/agent/test_trajectory.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run_cli


def _run_folder(tmp_path: Path, duration_s: float | None) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "trajectory.html").write_text("<html></html>")
    (folder / "trajectory.json").write_text(json.dumps({"steps": [], "duration_s": duration_s}))
    return folder


@pytest.mark.parametrize(("duration_s", "live"), [(None, True), (12.5, False)])
def test_view_says_when_the_run_is_still_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, duration_s: float | None, live: bool
) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    folder = _run_folder(tmp_path, duration_s)
    code, out, err = run_cli(["view", str(folder)], capsys)
    assert code == 0, err
    assert opened == [(folder / "trajectory.html").resolve().as_uri()]
    said = "the run is still going: the page shows each step as it lands (it reloads every 2 s)" in out
    assert said == live
