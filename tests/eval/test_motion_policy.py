"""The scripted policy's cells against the kernel contract, on synthetic rooms whose objects move.

Each question's cell (`spatialclaw.testing.synth_policy.cell_for`) runs in a namespace with the
real primitives over the rendered RGB-D folder with ground-truth perception, and its answer is
scored as VSI-Bench scores. This measures `tracks3d`, `Track3D`, `camera_motion(t0=, t1=)` and
the centre estimate on partial views: the cells only use the documented contract.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from spatialclaw.eval.scoring import score_prediction
from spatialclaw.testing.synth_policy import cell_for

pytestmark = pytest.mark.slow


class _Answered(Exception):
    pass


def _run_cell(code: str, namespace: dict, options: list[str] | None) -> object:
    box: list[object] = []

    def answer(value: object) -> None:
        box.append(value)
        raise _Answered

    scope = {**namespace, "answer": answer, "options": options, "print": lambda *a, **k: None}
    try:
        exec(compile(code, "<cell>", "exec"), scope)
    except _Answered:
        pass
    return box[0] if box else None


def _namespace(folder: Path, cache: Path) -> dict:
    from spatialclaw import primitives
    from spatialclaw.inputs.load import load_input
    from spatialclaw.primitives.context import KernelContext

    loaded = load_input(folder, frames=None, cache_dir=cache)
    context = KernelContext(frames=loaded.frames, source_kind="rgbd", source_path=folder, perception="gt", options={"cache": False})
    namespace: dict = {}
    primitives.install(namespace, context)
    return namespace


@pytest.fixture(scope="module")
def moving_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spatialclaw.synth.benchmark import make_benchmark

    root = tmp_path_factory.mktemp("moving")
    make_benchmark(root, scenes=3, seed=5, frames=24, width=320, height=240, moving=2)
    return root


def test_scripted_model_answers_every_motion_question_type(moving_bench: Path, tmp_path: Path) -> None:
    from spatialclaw.synth.motion_questions import MOTION_QUESTION_TYPES

    records = [json.loads(line) for line in (moving_bench / "questions.jsonl").read_text().splitlines()]
    motion = [r for r in records if r["question_type"] in MOTION_QUESTION_TYPES]
    assert {r["question_type"] for r in motion} == set(MOTION_QUESTION_TYPES)
    scores: dict[str, list[float]] = defaultdict(list)
    by_scene: dict[str, list[dict]] = defaultdict(list)
    for r in motion:
        by_scene[r["scene_name"]].append(r)
    for scene, rows in by_scene.items():
        namespace = _namespace(moving_bench / "synth" / scene, tmp_path)
        for r in rows:
            found = cell_for(r["question"])
            assert found is not None and found[0] == r["question_type"], r["question"]
            prediction = _run_cell(found[1], namespace, r["options"])
            score = score_prediction(prediction, r["ground_truth"], r["question_type"], r["options"])
            scores[r["question_type"]].append(score.score)
    means = {t: float(np.mean(v)) for t, v in scores.items()}
    assert all(m >= 0.9 for m in means.values()), means
