"""`spatialclaw eval --perception learned --workers 2` loads each model once in all: the kernels
ask the machine's perception service, which `summary.json` counts (``perception.model_loads``),
and the results are those of ``--workers 1``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.eval.results import JsonlLog  # noqa: E402
from spatialclaw.testing.scripted_vlm import ChatRequest, ScriptedVLM  # noqa: E402

pytestmark = pytest.mark.slow
CELL = "Count them.\n```python\nm = segment('chair', frames={frames})\nanswer(len(m))\n```"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small scenes, three counting questions over different frames, a tiny SAM 3 in a Hub cache."""
    from spatialclaw.synth import make_test_scene
    from spatialclaw.testing import tiny_models

    root = tmp_path_factory.mktemp("loads")
    tiny_models.write_hf_cache(root / "hub", {"facebook/sam3": tiny_models.sam3})
    for seed in (0, 1):
        make_test_scene(root, seed=seed, frames=4, width=128, height=96)
    records = [{"id": f"q{k}", "dataset": "synth", "scene_name": f"synth_{k % 2}", "question_type": "object_counting",
                "question": f"How many chairs? [{k}]", "options": None, "ground_truth": "2"} for k in range(3)]
    (root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def policy(request: ChatRequest) -> str:
    """Each question segments its own frames and answers the count (so answers depend on perception)."""
    text = " ".join(request.texts("user"))
    k = next((k for k in range(3) if f"[{k}]" in text), 0)
    return CELL.format(frames=[[0, 1, 2, 3], [1, 2], [0, 3]][k])


def run_eval(bench: Path, vlm: ScriptedVLM, name: str, workers: int) -> Path:
    out = bench / name
    env = {**os.environ, "SPATIALCLAW_CACHE": str(bench / f"cache-{name}"), "HF_HUB_CACHE": str(bench / "hub"),
           "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    argv = [sys.executable, "-m", "spatialclaw", "eval", str(bench / "questions.jsonl"), "--data-root", str(bench),
            "--out", str(out), "--model", vlm.model, "--base-url", vlm.base_url, "--api-key", "k", "--frames", "4",
            "--max-steps", "2", "--perception", "segmentation=learned,reconstruction=classical",
            "--perception-service", "auto", "--workers", str(workers)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=500)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_two_workers_load_each_model_once_and_answer_as_one_does(bench: Path) -> None:
    with ScriptedVLM(policy) as vlm:
        one, two = run_eval(bench, vlm, "one", 1), run_eval(bench, vlm, "two", 2)
    for out in (one, two):
        summary = json.loads((out / "summary.json").read_text())
        assert summary["perception"]["model_loads"] == {"facebook/sam3": 1}, summary.get("perception")
        assert summary["n"] == 3 and not (out / "errors.jsonl").exists()
    rows = [sorted((r["id"], r["prediction"], r["score"]) for r in JsonlLog(out / "results.jsonl").read()) for out in (one, two)]
    assert rows[0] == rows[1]
    assert len({r[1] for r in rows[0]}) >= 1 and all(r[1] is not None for r in rows[0])
