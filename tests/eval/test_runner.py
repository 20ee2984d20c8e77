"""The evaluation runner without a model: results log, scoring, errors, resume, executors.

The job functions here stand in for the agent (they read the answer a test planted in the
question), so these tests check the harness: what is written, what is skipped, what is retried.
The agent itself is exercised end to end in test_eval_e2e.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from spatialclaw.errors import ConfigError, ModelError
from spatialclaw.config import RunConfig
from spatialclaw.eval.executors import JobOutcome, LocalExecutor, QuestionJob
from spatialclaw.eval.results import JsonlLog
from spatialclaw.models.clients import ModelClients
from spatialclaw.eval.runner import EvalConfig, run_eval

# (id, question_type, options, ground_truth, planted answer)
QUESTIONS = [
    ("c1", "object_counting", None, "4", "4"),  # MRA 1.0
    ("c2", "object_counting", None, "4", "5 chairs"),  # |5-4|/4 = 0.25 → 0.6
    ("d1", "object_abs_distance", None, "2.0", "245 cm"),  # 2.45 m: 0.225 → 0.6
    ("e1", "object_rel_direction_easy", ["A. left", "B. right"], "B", "B"),  # 1
    ("e2", "object_rel_direction_easy", ["A. left", "B. right"], "B", "A"),  # 0
    ("h1", "object_rel_direction_hard", ["A. front-left", "B. back-right"], "A", "(A)"),  # 1
    ("r1", "route_planning", ["A. turn left", "B. turn right"], "A", "I'm not sure"),  # unparsed → 0
]
# per task: counting (1 + .6)/2 = .8; abs distance .6; direction: easy .5, hard 1 → .75; route 0
# overall = (.8 + .6 + .75 + 0) / 4 = .5375
EXPECTED_OVERALL = 0.5375


def planted_answer(job: QuestionJob, clients: ModelClients | None = None) -> JobOutcome:
    """Answers with the text after '||' in the question."""
    answer = job.question.split("||", 1)[1]
    return JobOutcome(job.id, prediction=answer, answered=True, steps=1, usage={"total_tokens": 10})


def slow_planted_answer(job: QuestionJob, clients: ModelClients | None = None) -> JobOutcome:
    time.sleep(0.3)
    return planted_answer(job)


class InlineExecutor:
    """Runs jobs one after another in this process (a test double with the executor interface)."""

    def __init__(self, fn=planted_answer) -> None:
        self.fn = fn
        self.ran: list[str] = []
        self.closed = False

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        for job in jobs:
            self.ran.append(job.id)
            yield self.fn(job)

    def close(self) -> None:
        self.closed = True


def make_benchmark(root: Path) -> Path:
    data = root / "data" / "synthetic"
    data.mkdir(parents=True)
    rows = []
    for qid, qtype, options, gt, planted in QUESTIONS:
        (data / f"scene_{qid}.mp4").write_bytes(b"")
        rows.append(
            {
                "id": qid,
                "dataset": "synthetic",
                "scene_name": f"scene_{qid}",
                "question_type": qtype,
                "question": f"question {qid}||{planted}",
                "options": options,
                "ground_truth": gt,
            }
        )
    path = root / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def config(root: Path, **kw) -> EvalConfig:
    return EvalConfig(questions=root / "questions.jsonl", data_root=root / "data", out=root / "out", **kw)


def test_run_eval_scores_writes_results_and_report(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    executor = InlineExecutor()
    summary = run_eval(config(tmp_path), executor=executor)
    assert executor.closed
    out = tmp_path / "out"
    rows = JsonlLog(out / "results.jsonl").read()
    assert [r["id"] for r in rows] == [q[0] for q in QUESTIONS]
    by_id = {r["id"]: r for r in rows}
    assert by_id["c2"]["score"] == pytest.approx(0.6) and by_id["c2"]["parsed"] == 5.0
    assert by_id["d1"]["parsed"] == pytest.approx(2.45)
    assert by_id["r1"]["unparsed"] is True and by_id["r1"]["score"] == 0.0
    assert set(by_id["c1"]) >= {"id", "question_type", "prediction", "ground_truth", "score", "steps", "usage", "trajectory"}
    assert summary["overall"] == pytest.approx(EXPECTED_OVERALL)
    assert summary["per_task"]["object_rel_direction"] == pytest.approx(0.75)
    assert (summary["n"], summary["unparsed"], summary["errors"], summary["missing"]) == (7, 1, 0, 0)
    assert json.loads((out / "summary.json").read_text()) == summary
    table = (out / "summary.md").read_text()
    assert "| object_rel_direction | 3 | 75.0 |" in table and "**53.8**" in table
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "api_key" not in json.loads((out / "run.json").read_text())


def test_limit_takes_the_first_records(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    summary = run_eval(config(tmp_path, limit=2), executor=InlineExecutor())
    assert summary["n"] == 2 and summary["total"] == 2
    assert summary["overall"] == pytest.approx(0.8)


def fails_for_d1_once(job: QuestionJob) -> JobOutcome:
    marker = Path(job.trajectory_dir).parent.parent / "d1-failed-once"
    if job.id == "d1" and not marker.exists():
        marker.write_text("")
        return JobOutcome(job.id, error_type="ModelError", error="VLM endpoint unreachable")
    return planted_answer(job)


def test_failed_question_is_recorded_not_scored_and_retried_on_resume(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    out = tmp_path / "out"
    summary = run_eval(config(tmp_path), executor=InlineExecutor(fails_for_d1_once))
    assert (summary["n"], summary["errors"], summary["missing"]) == (6, 1, 1)
    assert JsonlLog(out / "errors.jsonl").read() == [{"id": "d1", "error_type": "ModelError", "error": "VLM endpoint unreachable"}]
    assert "1 failed (not scored; rerun with --resume)" in (out / "summary.md").read_text()

    with pytest.raises(ConfigError, match="--resume"):
        run_eval(config(tmp_path), executor=InlineExecutor())

    again = InlineExecutor(fails_for_d1_once)
    summary = run_eval(config(tmp_path, resume=True), executor=again)
    assert again.ran == ["d1"]
    assert (summary["n"], summary["errors"], summary["missing"]) == (7, 0, 0)
    assert summary["overall"] == pytest.approx(EXPECTED_OVERALL)
    ids = [r["id"] for r in JsonlLog(out / "results.jsonl").read()]
    assert sorted(ids) == sorted(q[0] for q in QUESTIONS) and len(ids) == len(set(ids))


def always_unreachable(job: QuestionJob) -> JobOutcome:
    return JobOutcome.failure(job.id, ModelError("cannot reach http://127.0.0.1:9/v1"))


def test_fail_fast_when_the_first_questions_all_fail_the_same_way(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    executor = InlineExecutor(always_unreachable)
    with pytest.raises(ModelError, match=r"cannot reach .*the first 3 questions all failed.*--resume"):
        run_eval(config(tmp_path), executor=executor)
    assert executor.ran == ["c1", "c2", "d1"] and executor.closed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["n"], summary["errors"], summary["overall"]) == (0, 3, None)


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    run_eval(config(tmp_path, limit=1, settings=RunConfig(model="a")), executor=InlineExecutor())
    with pytest.raises(ConfigError, match=r"model='a'"):
        run_eval(config(tmp_path, resume=True, settings=RunConfig(model="b")), executor=InlineExecutor())
    executor = InlineExecutor()
    run_eval(config(tmp_path, resume=True, settings=RunConfig(model="a")), executor=executor)
    assert executor.ran == [q[0] for q in QUESTIONS[1:]]


def test_partial_last_line_is_dropped_and_the_question_rerun(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    run_eval(config(tmp_path, limit=3), executor=InlineExecutor())
    results = tmp_path / "out" / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:2]) + lines[2][:25])  # a write cut by a kill
    executor = InlineExecutor()
    summary = run_eval(config(tmp_path, resume=True), executor=executor)
    assert executor.ran == ["d1", "e1", "e2", "h1", "r1"]
    assert summary["n"] == 7 and summary["overall"] == pytest.approx(EXPECTED_OVERALL)
    assert all(line.endswith(b"\n") for line in results.read_bytes().splitlines(keepends=True))


def test_local_executor_runs_jobs_in_worker_processes(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    summary = run_eval(config(tmp_path), executor=LocalExecutor(workers=2, job_fn=planted_answer))
    assert summary["n"] == 7 and summary["overall"] == pytest.approx(EXPECTED_OVERALL)


def crashes_in_r1(job: QuestionJob, clients: ModelClients | None = None) -> JobOutcome:
    if job.id == "r1":
        os._exit(3)  # the worker process dies
    return planted_answer(job)


def test_local_executor_survives_a_dying_worker(tmp_path: Path) -> None:
    make_benchmark(tmp_path)
    summary = run_eval(config(tmp_path), executor=LocalExecutor(workers=1, job_fn=crashes_in_r1))
    assert (summary["n"], summary["errors"]) == (6, 1)
    assert JsonlLog(tmp_path / "out" / "errors.jsonl").read()[0]["error_type"] == "WorkerDied"


KILLABLE_RUN = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_runner import config, slow_planted_answer
from spatialclaw.eval.executors import LocalExecutor
from spatialclaw.eval.runner import run_eval
run_eval(config(Path({root!r}), resume=True), executor=LocalExecutor(workers=2, job_fn=slow_planted_answer))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_loses_and_repeats_nothing(tmp_path: Path, sig: int) -> None:
    make_benchmark(tmp_path)
    script = KILLABLE_RUN.format(tests=str(Path(__file__).parent), root=str(tmp_path))
    results = tmp_path / "out" / "results.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not results.exists() or len(results.read_bytes().splitlines()) < 2):
            time.sleep(0.05)
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = [r["id"] for r in JsonlLog(results).read()]
    assert 2 <= len(before) < len(QUESTIONS)
    executor = InlineExecutor()
    summary = run_eval(config(tmp_path, resume=True), executor=executor)
    assert sorted(executor.ran) == sorted(set(q[0] for q in QUESTIONS) - set(before))
    after = [r["id"] for r in JsonlLog(results).read()]
    assert sorted(after) == sorted(q[0] for q in QUESTIONS)
    assert summary["n"] == 7 and summary["overall"] == pytest.approx(EXPECTED_OVERALL)
    # the killed run's workers do not outlive it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_in_group(proc.pid):
        time.sleep(0.1)
    assert _processes_in_group(proc.pid) == []


def _processes_in_group(pgid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_run_job_hands_every_setting_to_ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eval can set whatever ``ask`` can: the job's `RunConfig` reaches it whole (cell timeout, shown frames)."""
    import spatialclaw.agent.loop as loop
    from spatialclaw.eval.executors import run_job

    seen: dict = {}

    def fake_ask(input_path, question, **kw):  # noqa: ANN001, ANN003, ANN202
        seen.update(kw, input=input_path, question=question)
        raise loop.ModelError("stop here")

    monkeypatch.setattr(loop, "ask", fake_ask)
    settings = RunConfig(model="m", cell_timeout=7.0, show_frames=2, frames=5)
    job = QuestionJob("q1", "How many?", None, str(tmp_path / "in.mp4"), str(tmp_path / "traj"), settings)
    outcome = run_job(job)
    assert seen["config"] is settings and seen["options"] is None and seen["question"] == "How many?"
    assert outcome.failed and outcome.error_type == "ModelError" and outcome.error == "stop here"
