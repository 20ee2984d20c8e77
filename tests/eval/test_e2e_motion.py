"""`spatialclaw eval` end to end on a room whose objects move: the real agent, kernels with
``--perception gt`` and the scripted policy's motion cells (`tracks3d`, `camera_motion(t0=, t1=)`);
the summary lists each motion task and scores it as VSI-Bench scores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spatialclaw.eval.results import JsonlLog
from spatialclaw.tasks import MOTION_QUESTION_TYPES
from spatialclaw.testing.scripted_vlm import ScriptedVLM
from spatialclaw.testing.synth_policy import synth_policy

pytestmark = pytest.mark.slow


def test_eval_scores_motion_questions_end_to_end(tmp_path: Path) -> None:
    from spatialclaw.synth.benchmark import make_benchmark

    questions = make_benchmark(tmp_path / "bench", scenes=1, seed=0, frames=16, width=240, height=180, moving=2)
    first: dict[str, str] = {}
    for line in questions.read_text().splitlines():
        if json.loads(line)["question_type"] in MOTION_QUESTION_TYPES:
            first.setdefault(json.loads(line)["question_type"], line)
    subset = tmp_path / "motion.jsonl"
    subset.write_text("".join(line + "\n" for line in first.values()))
    out = tmp_path / "out"
    with ScriptedVLM(synth_policy) as vlm:
        done = subprocess.run(
            [sys.executable, "-m", "spatialclaw", "eval", str(subset), "--data-root", str(tmp_path / "bench"),
             "--out", str(out), "--model", vlm.model, "--base-url", vlm.base_url, "--api-key", "test-key",
             "--perception", "gt", "--frames", "16", "--max-steps", "3", "--workers", "2"],
            capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}, timeout=600,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = JsonlLog(out / "results.jsonl").read()
    assert len(rows) == len(first) == len(MOTION_QUESTION_TYPES)
    for row in rows:
        assert row["answered"] and row["steps"] == 1, row
        assert row["score"] >= 0.9, row
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["per_task"]) == set(first) and summary["overall"] >= 0.9
    assert all(f"| {task} |" in (out / "summary.md").read_text() for task in first)
