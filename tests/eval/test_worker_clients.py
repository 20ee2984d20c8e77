"""Eval workers keep their VLM client: ``--model hf:...`` weights load once per worker, not once
per question, and the answers are the ones a fresh client per question gives.

The real agent, kernels and a tiny random Idefics3 (`spatialclaw.testing.tiny_vlm`) answer; the
loads are counted where transformers reads the weights (``from_pretrained``), in every process.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spatialclaw.config import RunConfig
from spatialclaw.eval.executors import JobOutcome, LocalExecutor, QuestionJob, run_job
from spatialclaw.eval.results import JsonlLog
from spatialclaw.eval.runner import EvalConfig, run_eval
from spatialclaw.models.clients import ModelClients

pytestmark = pytest.mark.slow

LOAD_LOG = "SPATIALCLAW_TEST_LOAD_LOG"
QUESTIONS = ["How many chairs?", "How far is the sofa from the TV?", "Is the lamp left of the bed?"]


def _count_weight_loads() -> None:
    """Make transformers' own ``from_pretrained`` append this process's id to the log file on
    every call (once per process; the real loading still runs)."""
    from transformers import AutoModelForImageTextToText

    real = AutoModelForImageTextToText.from_pretrained.__func__
    if getattr(real, "counts_loads", False):
        return

    def counted(cls, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        with open(os.environ[LOAD_LOG], "a") as log:
            log.write(f"{os.getpid()}\n")
        return real(cls, *args, **kwargs)

    counted.counts_loads = True  # type: ignore[attr-defined]
    AutoModelForImageTextToText.from_pretrained = classmethod(counted)


def counting_run_job(job: QuestionJob, clients: ModelClients | None = None) -> JobOutcome:
    """`run_job`, with the weight loads of this process counted."""
    _count_weight_loads()
    return run_job(job, clients)


def _loads(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four questions, each about a folder of two small photos, and the tiny VLM's checkpoint."""
    from PIL import Image

    from spatialclaw.testing.tiny_vlm import build_tiny_idefics3

    root = tmp_path_factory.mktemp("bench")
    build_tiny_idefics3(root / "vlm")
    rng = np.random.default_rng(0)
    rows = []
    for i, question in enumerate(QUESTIONS):
        scene = root / "data" / "photos" / f"scene{i}"
        scene.mkdir(parents=True)
        for k in range(2):
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(scene / f"{k}.png")
        rows.append({"id": f"q{i}", "dataset": "photos", "scene_name": f"scene{i}", "question_type": "object_counting",
                     "question": question, "options": None, "ground_truth": "2"})  # fmt: skip
    (root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _config(bench: Path, out: Path, workers: int) -> EvalConfig:
    settings = RunConfig(model=f"hf:{bench / 'vlm'}", perception="classical", sandbox="none", max_steps=1, frames=2)
    return EvalConfig(questions=bench / "questions.jsonl", data_root=bench / "data", out=out, settings=settings, workers=workers)


class FreshClientPerQuestion:
    """The old behaviour, in this process: every question makes (and loads) its own client."""

    def run(self, jobs):  # noqa: ANN001, ANN201
        for job in jobs:
            yield counting_run_job(job, None)

    def close(self) -> None:
        pass


def _rows(out: Path) -> dict[str, tuple]:
    return {r["id"]: (r["prediction"], r["answered"], r["steps"], r["usage"]) for r in JsonlLog(out / "results.jsonl").read()}


@pytest.fixture
def counted_here() -> Iterator[None]:
    """Weight loads in this process are counted during the test, and no longer afterwards."""
    from transformers import AutoModelForImageTextToText as auto

    own = auto.__dict__.get("from_pretrained")
    yield
    if own is not None:
        auto.from_pretrained = own
    elif "from_pretrained" in auto.__dict__:
        del auto.from_pretrained


def test_local_workers_load_the_model_once_each_and_answer_as_before(
    bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted_here: None
) -> None:
    monkeypatch.setenv(LOAD_LOG, str(tmp_path / "old.log"))
    old = run_eval(_config(bench, tmp_path / "old", 1), executor=FreshClientPerQuestion())
    assert sum(_loads(tmp_path / "old.log").values()) == len(QUESTIONS)

    monkeypatch.setenv(LOAD_LOG, str(tmp_path / "new.log"))
    new = run_eval(_config(bench, tmp_path / "new", 2), executor=LocalExecutor(workers=2, job_fn=counting_run_job))
    loads = _loads(tmp_path / "new.log")
    assert os.getpid() not in {int(p) for p in loads}
    assert 1 <= len(loads) <= 2 and set(loads.values()) == {1}  # each worker process loaded it once
    assert (new["n"], new["errors"]) == (old["n"], old["errors"]) == (len(QUESTIONS), 0)
    assert _rows(tmp_path / "new") == _rows(tmp_path / "old")


def test_ray_actors_load_the_model_once_each(bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    from spatialclaw.eval.executors import RayExecutor

    monkeypatch.setenv(LOAD_LOG, str(tmp_path / "ray.log"))
    tests = str(Path(__file__).parent)
    env = {LOAD_LOG: str(tmp_path / "ray.log"), "PYTHONPATH": os.pathsep.join([tests, str(Path(tests).parent), *sys.path])}
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        summary = run_eval(_config(bench, tmp_path / "out", 1), executor=RayExecutor(workers=1, job_fn=counting_run_job))
    finally:
        ray.shutdown()
    assert (summary["n"], summary["errors"]) == (len(QUESTIONS), 0)
    assert list(_loads(tmp_path / "ray.log").values()) == [1]
