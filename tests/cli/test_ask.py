"""`spatialclaw ask` and `spatialclaw.ask(...)` on a folder of images, against the scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import spatialclaw
from spatialclaw.cli import main
from spatialclaw.testing.scripted_vlm import ScriptedVLM
from cli_runner import interrupt_when, steps_written

COUNT_CELL = "I will count the images.\n```python\nprint(len(frames))\nanswer(len(frames))\n```"


@pytest.fixture()
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):
        PILImage.fromarray(np.full((60, 80, 3), 60 * k, np.uint8)).save(folder / f"img{k}.png")
    return folder


@pytest.mark.slow
def test_cli_json_prints_one_object_and_writes_the_trajectory(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with ScriptedVLM([COUNT_CELL], model="vlm-x") as vlm:
        with pytest.raises(SystemExit) as done:
            main(["ask", str(image_folder), "How many images?", "--model", "vlm-x", "--base-url", vlm.base_url,
                  "--max-steps", "3", "--frames", "3", "--out", str(out), "--json"])
        first_user = vlm.requests[0].messages[1]
    assert done.value.code in (None, 0)
    captured = capsys.readouterr()
    printed = json.loads(captured.out)  # nothing but the JSON object on stdout
    assert printed == {
        "answer": 3,
        "answered": True,
        "steps": 1,
        "usage": printed["usage"],
        "trajectory": str(out),
    }
    assert printed["usage"]["requests"] == 1 and printed["usage"]["total_tokens"] > 0
    assert "step 1/3" in captured.err and "answer: 3" in captured.err  # live progress on stderr
    assert sum(1 for p in first_user["content"] if p["type"] == "image_url") == 3
    assert {p.name for p in out.iterdir()} >= {"trajectory.json", "trajectory.ipynb", "trajectory.html"}


def test_cli_bad_key_is_one_line_on_stderr(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedVLM([COUNT_CELL], api_key="right") as vlm:
        with pytest.raises(SystemExit) as done:
            main(["ask", str(image_folder), "How many images?", "--model", vlm.model, "--base-url", vlm.base_url,
                  "--api-key", "wrong", "--out", str(tmp_path / "run")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "HTTP 401" in err[-1] and "--api-key" in err[-1]
    assert not any("Traceback" in line for line in err)


def test_python_api_reads_settings_from_the_environment(
    image_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ScriptedVLM([COUNT_CELL], model="env-vlm", api_key="env-key") as vlm:
        monkeypatch.setenv("OPENAI_BASE_URL", vlm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "env-key")
        monkeypatch.setenv("SPATIALCLAW_MODEL", "env-vlm")
        result = spatialclaw.ask(image_folder, "How many images?", frames=3, max_steps=2, out=tmp_path / "run")
    assert isinstance(result, spatialclaw.Result)
    assert result.answered and result.answer == 3 and result.trajectory_dir == tmp_path / "run"
    assert result.steps[0].result.text == "3\n"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("model", [["--model", "vlm-x"], []])
def test_cli_closed_port_fails_before_the_kernel_starts(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: list[str]
) -> None:
    out = tmp_path / "run"
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(SystemExit) as done:
        main(["ask", str(image_folder), "How many images?", *model, "--base-url", url, "--out", str(out)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: cannot reach the VLM server at {url} (connection refused): start it, or fix --base-url / OPENAI_BASE_URL"]
    assert not out.exists()


def test_python_api_closed_port_leaves_no_run_folder(image_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(spatialclaw.errors.ModelError, match="connection refused"):
        spatialclaw.ask(image_folder, "How many images?", model="vlm-x", base_url=f"http://127.0.0.1:{_closed_port()}/v1", out=out)
    assert not out.exists()


@pytest.mark.parametrize("missing", ["torch", "transformers"])
def test_cli_local_model_without_torch_is_one_line(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, missing, None)  # `import torch` now fails as on a light install
    with pytest.raises(SystemExit) as done:
        main(["ask", str(image_folder), "How many images?", "--model", "hf:/models/SmolVLM", "--out", str(tmp_path / "run")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --model hf:/models/SmolVLM (a model run in this process) needs {missing}, which is not installed: "
                   "pip install 'spatialclaw[learned]'"]


def test_cli_any_missing_extra_module_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's safety net: an optional module missing on a path without its own message."""
    import spatialclaw.cli.exec_cmd as exec_cmd

    def needs_ray(*_args: object, **_kwargs: object) -> None:
        import ray  # noqa: F401

    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    monkeypatch.setattr(exec_cmd, "_cells", needs_ray)
    with pytest.raises(SystemExit) as done:
        main(["exec", "none", "-c", "1"])
    assert done.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: this command needs ray, which is not installed: pip install 'spatialclaw[ray]'"
    ]


def test_cli_console_shows_an_excerpt_of_each_reply(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chatty = "The images are dark. I think there are three of them, but I should count rather than guess."
    with ScriptedVLM([chatty, COUNT_CELL], model="vlm-x") as vlm:
        code = 0
        try:
            main(["ask", str(image_folder), "How many images?", "--model", "vlm-x", "--base-url", vlm.base_url,
                  "--max-steps", "3", "--frames", "3", "--out", str(tmp_path / "run"), "--sandbox", "none"])
        except SystemExit as done:
            code = done.code
    assert code in (None, 0)
    err = capsys.readouterr().err
    assert chatty in err  # a step without a cell shows the model's words, not only the notice
    assert "I will count the images." in err and "print(len(frames))" in err
    assert "\x1b[2K" not in err  # no spinner escapes when stderr is not a terminal


def test_reply_excerpt_drops_code_and_cuts_long_words() -> None:
    from spatialclaw.agent.progress import reply_excerpt

    assert reply_excerpt("Look first.\n```python\nprint(1)\n```\nThen answer.") == "Look first. Then answer."
    assert reply_excerpt("```python\nprint(1)") == ""
    long = reply_excerpt("word " * 100, limit=40)
    assert len(long) == 40 and long.endswith("…")


@pytest.mark.slow
def test_cli_ctrl_c_says_where_the_trajectory_is(image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    slow_cell = "Let me wait.\n```python\nimport time\ntime.sleep(60)\n```"
    with ScriptedVLM(["Look first.\n```python\nprint(1)\n```", slow_cell], model="vlm-x") as vlm:
        watcher = interrupt_when(lambda: steps_written(out) >= 1)
        with pytest.raises(SystemExit) as done:
            main(["ask", str(image_folder), "How many images?", "--model", "vlm-x", "--base-url", vlm.base_url,
                  "--max-steps", "3", "--frames", "3", "--out", str(out), "--sandbox", "none"])
        watcher.join()
    assert done.value.code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"interrupted: the trajectory so far is in {out} (spatialclaw view {out})"
    saved = json.loads((out / "trajectory.json").read_text())
    assert saved["error"].startswith("interrupted") and len(saved["steps"]) >= 1


def test_cli_trajectory_records_the_perception_choice_when_no_cell_ran(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with ScriptedVLM(["Three images, I can see them all.", "3"], model="vlm-x") as vlm:
        with pytest.raises(SystemExit) as done:
            main(["ask", str(image_folder), "How many images?", "--model", "vlm-x", "--base-url", vlm.base_url,
                  "--max-steps", "1", "--frames", "3", "--out", str(out), "--sandbox", "none", "--json"])
    assert done.value.code in (None, 0)
    config = json.loads((out / "trajectory.json").read_text())["config"]
    backends = config["perception_info"]["backends"]
    assert set(backends) >= {"reconstruction", "segmentation"} and backends["reconstruction"]["backend"]
    assert config["sandbox"]["kind"] == "none"
