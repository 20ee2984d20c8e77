"""Multi-image and multi-video questions end to end: `spatialclaw eval --benchmark` and
`spatialclaw ask --input` with the real agent and kernels against the scripted OpenAI-compatible
server. The scripted policy writes a real cell that reads `inputs` and `frames` in the kernel and
answers with the brightest input (the fixtures' images and videos are of one grey level each),
so the scores measure the loading, the kernel's inputs and the benchmark's scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_layouts import cvbench, mmsi_bench, mp4
from cli_runner import run_cli
from PIL import Image

from spatialclaw.testing.scripted_vlm import ChatRequest, ScriptedVLM

pytestmark = pytest.mark.slow

BRIGHTEST_CELL = """I compare the inputs' brightness.
```python
import numpy as np
means = [float(np.mean([frames[p].image.mean() for p in part.frames])) for part in inputs]
assert all(frames[p].source == k for k, part in enumerate(inputs) for p in part.frames)
print([(part.kind, part.name, len(part.frames)) for part in inputs], means)
if "three videos" in question:
    answer("Yes" if len(inputs) == 3 else "No")
else:
    answer("ABCD"[int(np.argmax(means))])
```"""


def policy(request: ChatRequest) -> str:
    return BRIGHTEST_CELL


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(tmp_path / "cache"))


def _eval(name: str, root: Path, out: Path, vlm: ScriptedVLM, capsys: pytest.CaptureFixture[str]) -> dict:
    code, _, err = run_cli(["eval", "--benchmark", name, "--data-root", str(root), "--out", str(out), "--model", vlm.model,
                            "--base-url", vlm.base_url, "--api-key", "k", "--max-steps", "2", "--sandbox", "none"], capsys)
    assert code == 0, err
    return json.loads((out / "summary.json").read_text())


def test_eval_multi_image_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = mmsi_bench(tmp_path / "mmsi")
    with ScriptedVLM(policy) as vlm:
        summary = _eval("mmsi_bench", layout.root, tmp_path / "run", vlm, capsys)
        first_turns = [r for r in vlm.requests if len(r.messages) == 2]
    # questions 0 and 1: the brighter image is the answer; question 2: the answer (C) is not the brightest (B)
    assert summary["overall"] == pytest.approx(2 / 3) and summary["n"] == 3 and summary["unparsed"] == 0
    assert summary["defaults"] == {"frames": 32, "fps": None, "max_steps": 12} and summary["benchmark"] == "mmsi_bench"
    assert sorted(len(r.images(1)) for r in first_turns) == [2, 2, 3]  # every input shown in the first turn
    user_text = " ".join(t for r in first_turns for t in r.texts("user"))
    assert "The question has 3 inputs" in user_text and "inputs[2]: image 'image 3'" in user_text


def test_eval_multi_video_benchmark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = cvbench(tmp_path / "cv")
    with ScriptedVLM(policy) as vlm:
        summary = _eval("cvbench", layout.root, tmp_path / "run", vlm, capsys)
    assert summary["overall"] == pytest.approx(1.0) and summary["n"] == 3
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert {r["id"]: r["prediction"] for r in rows} == {"0": "B", "1": "A", "2": "Yes"}
    page = json.loads((tmp_path / "run" / rows[2]["trajectory"] / "trajectory.json").read_text())
    assert page["evaluation"]["ground_truth"] == "Yes" and page["evaluation"]["question_type"] == "Joint-video Counting"
    assert [part["kind"] for part in json.loads((tmp_path / "run" / rows[2]["trajectory"] / "manifest.json").read_text())["inputs"]] == ["video"] * 3


def test_ask_with_several_images_and_several_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = []
    for k, level in enumerate((30, 220, 90)):
        images.append(tmp_path / f"view{k}.png")
        Image.fromarray(np.full((20, 30, 3), level, np.uint8)).save(images[-1])
    videos = [mp4(tmp_path / "a.mp4", 200), mp4(tmp_path / "b.mp4", 20)]
    for inputs, expected in ((images, "B"), (videos, "A")):
        with ScriptedVLM(policy) as vlm:
            args = ["ask", str(inputs[0]), "Which input is brightest?", *[a for p in inputs[1:] for a in ("--input", str(p))],
                    "--model", vlm.model, "--base-url", vlm.base_url, "--max-steps", "2", "--sandbox", "none",
                    "--out", str(tmp_path / f"run-{expected}"), "--json"]
            code, out, err = run_cli(args, capsys)
            shown = len(vlm.requests[0].images(1))
        assert code == 0, err
        assert json.loads(out)["answer"] == expected
        assert shown >= len(inputs)
