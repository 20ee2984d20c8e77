"""`spatialclaw eval` end to end: a synthetic benchmark, the real agent and kernels with
``--perception gt``, and a scripted OpenAI-compatible server on 127.0.0.1 whose replies are a
*policy* (`spatialclaw.testing.synth_policy`): it writes a real cell per question type, so the
scores below measure the whole pipeline, not a canned answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialclaw.eval.results import JsonlLog
from spatialclaw.testing.scripted_vlm import ScriptedVLM
from spatialclaw.tasks import MULTIPLE_CHOICE_TASKS
from spatialclaw.testing.synth_policy import question_of, synth_policy

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 8-frame 320×240 room (seed 3 has all ten question types) and a questions file with
    the first question of each type."""
    from spatialclaw.synth.benchmark import make_benchmark

    root = tmp_path_factory.mktemp("bench")
    questions = make_benchmark(root, scenes=1, seed=3, frames=8, width=320, height=240)
    first: dict[str, str] = {}
    for line in questions.read_text().splitlines():
        first.setdefault(json.loads(line)["question_type"], line)
    (root / "subset.jsonl").write_text("".join(line + "\n" for line in first.values()))
    return root


@pytest.fixture(scope="module")
def vlm() -> Iterator[ScriptedVLM]:
    with ScriptedVLM(synth_policy) as server:
        yield server


def _eval_cli(bench: Path, vlm: ScriptedVLM, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "spatialclaw", "eval", str(bench / "subset.jsonl"),
        "--data-root", str(bench), "--out", str(out),
        "--model", vlm.model, "--base-url", vlm.base_url, "--api-key", "test-key",
        "--perception", "gt", "--frames", "8", "--max-steps", "3", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120"}


@pytest.fixture(scope="module")
def local_run(bench: Path, vlm: ScriptedVLM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    done = subprocess.run(_eval_cli(bench, vlm, out, "--workers", "2"), capture_output=True, text=True, env=_env(), timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "overall" in done.stdout
    return out


def test_eval_scores_the_synthetic_benchmark_end_to_end(bench: Path, local_run: Path) -> None:
    rows = JsonlLog(local_run / "results.jsonl").read()
    types = {json.loads(line)["question_type"] for line in (bench / "subset.jsonl").read_text().splitlines()}
    assert sorted(r["question_type"] for r in rows) == sorted(types) and len(types) == 10
    assert not (local_run / "errors.jsonl").exists()
    for row in rows:
        assert row["answered"] and row["steps"] == 1 and row["usage"], row
        assert (local_run / row["trajectory"]).is_dir(), row["trajectory"]
        shown = json.loads((local_run / row["trajectory"] / "trajectory.json").read_text())["evaluation"]
        assert (shown["ground_truth"], shown["score"]) == (row["ground_truth"], row["score"])  # on the question's page too
        if row["question_type"] in MULTIPLE_CHOICE_TASKS:
            assert row["score"] == 1.0, row  # exact geometry from ground-truth depth, poses and masks
        elif row["question_type"] in ("object_counting", "object_size_estimation"):
            assert row["score"] == 1.0, row
        else:  # distances and the room's floor, from the visible surfaces: close, not exact
            assert row["score"] >= 0.7, row
    summary = json.loads((local_run / "summary.json").read_text())
    assert summary["n"] == 10 and summary["errors"] == 0 and summary["unparsed"] == 0
    assert len(summary["per_task"]) == 8 and summary["overall"] >= 0.9
    assert (local_run / "summary.png").stat().st_size > 1000
    assert "| **overall** | 10 |" in (local_run / "summary.md").read_text()


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_killed_eval_resumes_without_losing_or_repeating(bench: Path, vlm: ScriptedVLM, tmp_path: Path) -> None:
    out = tmp_path / "out"
    results = out / "results.jsonl"
    proc = subprocess.Popen(_eval_cli(bench, vlm, out, "--limit", "3"), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(JsonlLog(results).read()) < 1:
            seen |= _descendants(proc.pid)
            time.sleep(0.1)
        seen |= _descendants(proc.pid)
        proc.kill()  # SIGKILL: no clean-up in the coordinator at all
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # its worker and the worker's kernel notice and go away
    deadline = time.monotonic() + 30
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen and not _alive(seen)

    before = {r["id"] for r in JsonlLog(results).read()}
    assert 1 <= len(before) < 3
    asked_before = len(vlm.requests)
    done = subprocess.run(_eval_cli(bench, vlm, out, "--limit", "3", "--resume"), capture_output=True, text=True, env=_env(), timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]

    rows = JsonlLog(results).read()
    ids = [r["id"] for r in rows]
    records = [json.loads(line) for line in (bench / "subset.jsonl").read_text().splitlines()][:3]
    assert sorted(ids) == sorted(str(r["id"]) for r in records) and len(ids) == len(set(ids))
    # the resumed run asked the model only about the questions not finished before
    asked = {question_of(req) for req in vlm.requests[asked_before:]}
    assert asked == {r["question"] for r in records if str(r["id"]) not in before}
    assert json.loads((out / "summary.json").read_text())["n"] == 3


def test_ray_executor_gives_the_same_results_as_local_workers(bench: Path, vlm: ScriptedVLM, local_run: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from spatialclaw.config import RunConfig
    from spatialclaw.eval.executors import RayExecutor
    from spatialclaw.eval.runner import EvalConfig, run_eval

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        settings = RunConfig(model=vlm.model, base_url=vlm.base_url, api_key="test-key", perception="gt", frames=8, max_steps=3)
        config = EvalConfig(questions=bench / "subset.jsonl", data_root=bench, out=tmp_path / "out", settings=settings, limit=3, workers=2)
        summary = run_eval(config, executor=RayExecutor(workers=2))
    finally:
        ray.shutdown()
    assert summary["n"] == 3 and summary["errors"] == 0
    local = {r["id"]: r for r in JsonlLog(local_run / "results.jsonl").read()}
    for row in JsonlLog(tmp_path / "out" / "results.jsonl").read():
        assert (row["prediction"], row["score"], row["steps"]) == (
            local[row["id"]]["prediction"],
            local[row["id"]]["score"],
            local[row["id"]]["steps"],
        )
