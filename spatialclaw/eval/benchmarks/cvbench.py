"""CVBench (``Dongyh35/CVBench``): cross-video reasoning, 2–4 videos per question.

Layout (official repository ``Hokhim2/CVBench``: ``Video-R1/src/r1-v/Evaluation/CVBench.json``,
``QA_generator/HF_dataset_format.py`` and ``Video-R1/src/eval_bench.py``): the questions as
``data/test-00000-of-00001.parquet`` (the JSON list turned into a Hugging Face dataset) with
``id`` (int), ``task_type``, ``video_1`` … ``video_4`` (paths such as ``"0/0Hd95ulYOT8.mp4"``,
unused ones null), ``question``, ``options`` (``["A. White.", ...]`` or ``["Yes.", "No."]``) and
``answer`` (a letter, or ``"Yes"`` / ``"No"``); the videos in ``CVBench.zip`` under those paths
(read as shipped or unpacked, with or without a ``CVBench/`` or ``videos/`` folder).

Scoring (``eval_bench.py`` ``reward_fn``, "multiple choice"): the answer equals the ground truth
(a letter, or Yes / No); overall = accuracy over all questions; per ``task_type`` beside it.
"""

from __future__ import annotations

import re
from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import choice_score, letter, lettered
from spatialclaw.eval.benchmarks.storage import DataRoot
from spatialclaw.eval.scoring import Score

_YES_NO_RE = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def is_yes_no(options: list[str]) -> bool:
    """True when the options are Yes and No (``"Yes."``, ``"No."``)."""
    return bool(options) and all(str(o).strip().rstrip(".").strip().lower() in ("yes", "no") for o in options)


def read_yes_no(prediction: object) -> str | None:
    """``"Yes"`` or ``"No"`` from a prediction (the last one named), or None."""
    if isinstance(prediction, bool):
        return "Yes" if prediction else "No"
    found = _YES_NO_RE.findall(str(prediction)) if isinstance(prediction, str) else []
    return found[-1].capitalize() if found else None


class CVBench(Benchmark):
    name = "cvbench"
    hf_id = "Dongyh35/CVBench"
    title = "CV-Bench"
    media = "videos"
    tasks = ("Cross-video Anomaly Detection", "Cross-video Scene Recognition", "Multi-video Key-Action Recognition",
             "Cross-video Event Retrieval", "Cross-video Object Recognition", "Multi-video Attribute Recognition",
             "Joint-video Counting", "Cross-video Entity Matching", "Multi-view Scene Understanding",
             "Multi-video Temporal Reasoning", "Joint-video Spatial Navigating", "Video Difference Caption",
             "Cross-video Counterfactual Reasoning", "Joint-video Summarization", "Cross-video Procedural Transfer")
    defaults = Defaults(frames=32, max_steps=10)
    files = "data/test-00000-of-00001.parquet and CVBench.zip (<group>/<video>.mp4)"
    schema_source = "official repo Hokhim2/CVBench (Evaluation/CVBench.json, HF_dataset_format.py, eval_bench.py)"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("data/test-*.parquet", "**/test-*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("id",), position)
        videos = []
        for key in ("video_1", "video_2", "video_3", "video_4"):
            rel = row.get(key)
            if rel:
                path = data.find(f"CVBench/{rel}", required=False) or data.find(f"videos/{rel}", required=False) or data.find(str(rel))
                videos.append(MediaRef("video", key, path))
        options = [str(o) for o in (row.get("options") or [])]
        yes_no = is_yes_no(options)
        target = str(row["answer"]).strip().rstrip(".").capitalize() if yes_no else letter(row["answer"])
        return Record(rid, str(row["question"]).strip(), options if yes_no else lettered(options), row["answer"], target,
                      str(row["task_type"]), videos, extra={"yes_no": yes_no})

    def score(self, record: Record, prediction: object) -> Score:
        if not record.extra["yes_no"]:
            return choice_score(prediction, record.target, record.options)
        said = read_yes_no(prediction)
        return Score(float(said == record.target), said, "multiple_choice")
