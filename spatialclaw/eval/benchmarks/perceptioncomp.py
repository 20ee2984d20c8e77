"""PerceptionComp (``hrinnnn/PerceptionComp``): complex perception over long videos, five choices.

Layout (as public loaders describe the release; lmms-eval ``tasks/perceptioncomp`` reads the
same fields ``video_id``, ``question``, ``answer_id``, ``category``, ``difficulty``):
``questions.json``, a list of ``{key, video_id, question, answer_choice_0 … answer_choice_4,
answer_id (0-based), answer, category, difficulty}``; videos ``data/<video_id>.mp4``. The
file names are taken from those loaders, not from the dataset card (a parquet with the same
columns is read when there is no ``questions.json``).

Scoring (lmms-eval ``perceptioncomp_process_results``): exact letter of ``answer_id``; accuracy
per category and per difficulty, overall = accuracy over all questions.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import index_letter, lettered
from spatialclaw.eval.benchmarks.storage import DataRoot


class PerceptionComp(Benchmark):
    name = "perceptioncomp"
    hf_id = "hrinnnn/PerceptionComp"
    title = "PerceptComp"
    media = "video"
    tasks = ("outdoor tour", "shopping", "sport", "variety show", "home tour", "game", "movie")
    defaults = Defaults(frames=32, max_steps=10)
    files = "questions.json and data/<video_id>.mp4"
    schema_source = "lmms-eval tasks/perceptioncomp/utils.py (fields); file names from public loaders (not the card)"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.table_rows(data.first("questions.json", "**/questions.json", "**/*.parquet"))

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        choices = [row[f"answer_choice_{k}"] for k in range(10) if row.get(f"answer_choice_{k}") is not None]
        video_id = str(row["video_id"])
        video = data.find(f"data/{video_id}.mp4", required=False) or data.find(f"{video_id}.mp4")
        return Record(row_id(row, ("key", "id"), position), str(row["question"]).strip(), lettered(choices), row["answer_id"],
                      index_letter(row["answer_id"]), str(row.get("category") or "perceptioncomp"),
                      [MediaRef("video", video_id, video)], extra={"difficulty": row.get("difficulty")})
