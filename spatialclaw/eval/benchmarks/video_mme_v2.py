"""Video-MME-v2 (``MME-Benchmarks/Video-MME-v2``): 800 videos, four related eight-option questions
each, scored per group of four.

Layout (lmms-eval ``tasks/videomme_v2``, written with the official repository
``MME-Benchmarks/Video-MME-v2``): a parquet test split (read as any ``*.parquet`` under the root)
with ``video_id``, ``question_id`` (``"<video>-<k>"``), ``question``, ``options`` (one string,
``"A. ...\\nB. ...\\n...H. ..."``), ``answer`` (a letter), ``group_type`` (``relevance`` or
``logic``), ``group_structure`` (``"[1, 2, 3, 4]"``, ``"[1, [2, 3], 4]"`` or
``"[[1, 2], 3, 4]"``), ``level``, ``second_head``, ``third_head``; videos ``<video_id>.mp4`` at
the root, under ``videos/`` or in shipped archives. Not verified against the dataset card.

Scoring (same task, ``cal_relevance`` / ``cal_logic``): each video's four questions form a group.
A relevance group scores by how many are right: 0, 1/16, 4/16, 9/16, 1. A logic group scores by
the length of the run of right answers from the first (chain), with the structure's table
(``[1,2,3,4]``: 0, 1/16, 4/16, 9/16, 1; ``[1,[2,3],4]``: 0, 1/12, 4/12, 7/12, 1, question 3 may
stand in for 2; ``[[1,2],3,4]``: 0, 1/10, 2/10, 5/10, 1, question 2 may stand in for 1). Overall
= the mean group score; per group type beside it; plain question accuracy in ``question_accuracy``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot

_SQUARES = (0.0, 1 / 16, 4 / 16, 9 / 16, 1.0)
_LOGIC_TABLES = {
    "[1, 2, 3, 4]": _SQUARES,
    "[1, [2, 3], 4]": (0.0, 1 / 12, 4 / 12, 7 / 12, 1.0),
    "[[1, 2], 3, 4]": (0.0, 1 / 10, 2 / 10, 5 / 10, 1.0),
}


def relevance_score(right: Sequence[bool]) -> float:
    """A relevance group's score from its questions' right/wrong, in [0, 1]."""
    return _SQUARES[min(sum(bool(r) for r in right), 4)]


def logic_score(right: Sequence[bool], structure: str) -> float:
    """A logic group's score (questions in order) for its structure, in [0, 1].

    Raises:
        ValueError: an unknown structure.
    """
    key = str(ast.literal_eval(structure)) if isinstance(structure, str) else str(structure)
    if key not in _LOGIC_TABLES:
        raise ValueError(f"unknown Video-MME-v2 group structure {structure!r}")
    chain = 0
    for ok in right:
        if not ok:
            break
        chain += 1
    if key == "[1, [2, 3], 4]" and chain == 1 and len(right) > 2 and right[2]:
        chain += 1
    if key == "[[1, 2], 3, 4]" and chain == 0 and len(right) > 1 and right[1]:
        chain += 1
    return _LOGIC_TABLES[key][min(chain, 4)]


class VideoMMEv2(Benchmark):
    name = "video_mme_v2"
    hf_id = "MME-Benchmarks/Video-MME-v2"
    title = "Video-MME-v2"
    media = "video"
    tasks = ("relevance", "logic")
    defaults = Defaults(frames=32, max_steps=10)
    files = "*.parquet (video_id, question_id, question, options, answer, group_type, group_structure) and <video_id>.mp4"
    schema_source = "lmms-eval tasks/videomme_v2/utils.py (fields, group scoring); parquet and video file names not verified"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("**/test*.parquet", "**/*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        video_id = str(row["video_id"])
        video = data.find(f"videos/{video_id}.mp4", required=False) or data.find(f"{video_id}.mp4")
        options = options_from_text(str(row["options"]))
        return Record(str(row["question_id"]), str(row["question"]).strip(), options, row["answer"], letter(row["answer"]),
                      str(row["group_type"]), [MediaRef("video", video_id, video)],
                      extra={"video_id": video_id, "group_structure": str(row["group_structure"]), "level": row.get("level")})

    def row_fields(self, record: Record) -> dict[str, Any]:
        return {"video_id": record.extra["video_id"], "group_structure": record.extra["group_structure"]}

    def aggregate(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[str(row["video_id"])].append(row)
        scores: dict[str, list[float]] = defaultdict(list)
        for items in groups.values():
            items = sorted(items, key=lambda r: int(str(r["id"]).rsplit("-", 1)[-1]))
            right = [float(r["score"]) == 1.0 for r in items]
            kind = str(items[0]["task"])
            value = relevance_score(right) if kind == "relevance" else logic_score(right, str(items[0]["group_structure"]))
            scores[kind].append(value)
        all_groups = [v for values in scores.values() for v in values]
        per_task = {k: float(np.mean(v)) for k, v in sorted(scores.items())}
        counts = {k: sum(1 for r in rows if r["task"] == k) for k in per_task}
        return {"overall": float(np.mean(all_groups)) if all_groups else None, "per_task": per_task, "n": len(rows),
                "n_per_task": counts, "unparsed": sum(bool(r.get("unparsed")) for r in rows),
                "question_accuracy": float(np.mean([float(r["score"]) for r in rows])) if rows else None, "groups": len(all_groups)}
