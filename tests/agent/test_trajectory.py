"""The run folder: trajectory.json, a valid and replayable notebook, a self-contained page, `spatialclaw view`."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from spatialclaw.agent.loop import Agent
from spatialclaw.inputs.frame import Frame
from spatialclaw.models.openai_compat import OpenAICompatClient
from spatialclaw.models.openai_compat import to_openai_messages
from spatialclaw.agent.conversation import Conversation
from spatialclaw.testing.scripted_vlm import ChatRequest, ScriptedVLM

SCRIPT = [
    "Count first, and look at a frame <b>not bold</b>.\n```python\nn = len(frames)\nprint('frames:', n)\nshow(frames[0])\n```",
    "```python\nshow(frames[1])\nmissing_name\n```",
    "Only words this time.",
    "```python\nanswer(n - 1)\n```",
]


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ChatRequest]]:
    """A finished 4-step scripted run on four 320×240 frames (its own kernel): its folder and the requests sent."""
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames

    folder = tmp_path_factory.mktemp("traj")
    frames = []
    for k in range(4):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, : 80 * (k + 1)] = (230, 120, 30)
        frames.append(Frame(index=k, time=float(k), image=image))
    save_frames(folder / "frames.npz", frames)
    loaded = LoadedInput("images", [folder], frames, folder / "frames.npz", None, 4, None)
    with ScriptedVLM(SCRIPT) as vlm:
        agent = Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url), max_steps=5, show_frames=2)
        result = agent.run(loaded, "How many frames minus one?", out=folder / "run")
    assert result.answered and result.answer == 3
    return folder / "run", vlm.requests


@pytest.fixture(scope="module")
def run_dir(scripted_run: tuple[Path, list[ChatRequest]]) -> Path:
    return scripted_run[0]


def test_conversation_rebuilt_from_the_folder_is_what_was_sent(scripted_run: tuple[Path, list[ChatRequest]]) -> None:
    folder, requests = scripted_run
    conversation, budget = Conversation.from_trajectory(folder)
    steps = list(conversation.steps)
    assert len(requests) == len(steps) == 4
    for k, request in enumerate(requests):
        conversation.steps = steps[:k]
        assert to_openai_messages(conversation.to_messages(budget)) == request.body["messages"]


def test_json_records_question_config_steps_and_images(run_dir: Path) -> None:
    record = json.loads((run_dir / "trajectory.json").read_text())
    assert record["question"] == "How many frames minus one?" and record["answer"] == 3 and record["answered"]
    assert record["config"]["model"]["model"] == "scripted-vlm" and record["config"]["perception"] == "auto"
    assert "perception_info" in record["config"] and record["config"]["max_steps"] == 5
    from spatialclaw.kernel.sandbox import bwrap_available

    assert record["config"]["sandbox"]["kind"] == ("bwrap" if bwrap_available()[0] else "none")
    assert [s["kind"] for s in record["steps"]] == ["cell", "cell", "no_cell", "cell"]
    first, second = record["steps"][0], record["steps"][1]
    assert first["output"]["text"] == "frames: 4\n" and first["code"].startswith("n = len(frames)")
    assert second["output"]["error"]["ename"] == "NameError"
    for step in record["steps"]:
        assert set(step["timing"]) == {"model_s", "cell_s", "kernel_wait_s", "step_s", "overhead_s"}
        assert step["usage"]["requests"] == 1 and step["input"]["request_bytes"] > 0
        for rel in step["images"]:
            assert (run_dir / rel).read_bytes().startswith(b"\x89PNG")
    assert len(first["images"]) == 1 and len(second["images"]) == 1
    assert [f["position"] for f in record["task"]["frames"]] == [0, 3]
    assert all((run_dir / f["file"]).is_file() for f in record["task"]["frames"])
    assert record["usage"]["requests"] == 4 and record["error"] is None
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert Path(manifest["frames_file"]).is_file() and manifest["question"] == record["question"]


def test_notebook_is_valid_with_cells_and_outputs(run_dir: Path) -> None:
    import nbformat

    notebook = nbformat.read(run_dir / "trajectory.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert len(code) == 4  # the setup cell, then the three cells that ran
    assert "bootstrap" in code[0].source and code[1].source.startswith("n = len(frames)")
    kinds = [o.output_type for o in code[1].outputs]
    assert kinds == ["stream", "display_data"] and code[1].outputs[0].text == "frames: 4\n"
    png = base64.b64decode(code[1].outputs[1].data["image/png"])
    assert PILImage.open(io.BytesIO(png)).size == (320, 240)
    assert [o.output_type for o in code[2].outputs] == ["display_data", "error"]
    assert code[2].outputs[1].ename == "NameError"
    assert any("Only words this time." in c.source for c in notebook.cells if c.cell_type == "markdown")


@pytest.mark.slow
def test_notebook_replays_in_a_fresh_kernel(run_dir: Path, tmp_path: Path) -> None:
    import nbclient
    import nbformat

    replay = tmp_path / "replay"
    shutil.copytree(run_dir, replay)
    notebook = nbformat.read(replay / "trajectory.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=60, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(replay)}}
    ).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert not any(o.output_type == "error" for o in code[0].outputs)  # the setup cell preloads frames & co.
    assert code[1].outputs[0].text == "frames: 4\n"
    assert [o.output_type for o in code[2].outputs][-1] == "error" and code[2].outputs[-1].ename == "NameError"


def test_page_is_self_contained_and_escaped(run_dir: Path) -> None:
    html = (run_dir / "trajectory.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 2 + 2  # two key frames, two cell images
    assert all(s.startswith("data:image/") for s in sources)
    assert not re.search(r'(src|href)="(https?:|//|file:)', html) and "<link" not in html and "<script" not in html
    assert "How many frames minus one?" in html and "print(&#39;frames:&#39;, n)" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    assert "NameError" in html and "Only words this time." in html


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_page_renders_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400", f"--screenshot={shot}",
            (run_dir / "trajectory.html").resolve().as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )
    pixels = np.asarray(PILImage.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (1400, 1000)
    dark_text = (pixels.sum(axis=2) < 200).mean()
    orange = (np.abs(pixels - (230, 120, 30)).max(axis=2) < 25).mean()  # the key frames drew
    assert dark_text > 0.005 and orange > 0.01


def test_view_serves_the_page(run_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "spatialclaw", "view", str(run_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/trajectory\.html", line).group(0)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.read() == (run_dir / "trajectory.html").read_bytes()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_view_of_a_folder_without_a_page_is_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "spatialclaw", "view", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and "trajectory.html not found" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_page_written_during_the_run_shows_each_step_and_reloads(tmp_path: Path) -> None:
    """The page on disk while the model is asked for step 2: step 1 is on it, and it says the run goes on."""
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames

    frames = [Frame(index=k, time=float(k), image=np.full((48, 64, 3), 60 * k, np.uint8)) for k in range(2)]
    save_frames(tmp_path / "frames.npz", frames)
    loaded = LoadedInput("images", [tmp_path], frames, tmp_path / "frames.npz", None, 2, None)
    out = tmp_path / "run"
    seen: list[str] = []

    def reply(request: ChatRequest) -> str:
        seen.append((out / "trajectory.html").read_text())
        return "```python\nprint('first step ran')\n```" if len(seen) == 1 else "```python\nanswer(2)\n```"

    with ScriptedVLM(reply) as vlm:
        Agent(OpenAICompatClient(vlm.model, base_url=vlm.base_url), max_steps=3).run(loaded, "How many frames?", out=out)
    before_first, before_second = seen
    for page in (before_first, before_second):
        assert '<meta http-equiv="refresh" content="2">' in page and "Run in progress" in page
        assert '<span class="answer">not yet</span>' in page and "answer missing" not in page
    assert "first step ran" not in before_first and "first step ran" in before_second
    final = (out / "trajectory.html").read_text()
    assert "http-equiv=\"refresh\"" not in final and "Run ended with an answer" in final


def test_page_shows_the_evaluation(run_dir: Path, tmp_path: Path) -> None:
    from spatialclaw.agent.trajectory import TrajectoryWriter, load

    folder = tmp_path / "scored"
    shutil.copytree(run_dir, folder)
    TrajectoryWriter(folder).write_evaluation(
        {"question_type": "object_counting", "ground_truth": "4", "prediction": 3, "parsed": 3.0, "score": 0.7}
    )
    assert load(folder)["evaluation"]["score"] == 0.7
    html = (folder / "trajectory.html").read_text()
    evaluation = html[html.index('id="evaluation"'):html.index("</div></div>", html.index('id="evaluation"'))]
    assert "<b>Ground truth</b> 4" in evaluation and "<b>Score</b> 70%" in evaluation and "object_counting" in evaluation
