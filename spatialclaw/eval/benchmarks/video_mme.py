"""Video-MME (``lmms-lab/Video-MME``): general video understanding, four choices.

Layout (the dataset repository as lmms-eval's ``tasks/videomme`` reads it): ``videomme/test-00000-of-00001.parquet``
with ``video_id``, ``duration`` (``short``/``medium``/``long``), ``domain``, ``sub_category``,
``videoID``, ``question_id``, ``task_type``, ``question``, ``options`` (``["A. ...", ...]``),
``answer`` (a letter); the videos ship in ``videos_chunked_NN.zip`` archives as
``data/<videoID>.mp4`` (read as shipped or unpacked).

Scoring (lmms-eval ``videomme_process_results`` / ``videomme_aggregate_results``): exact letter;
accuracy per task type (and per duration), overall = accuracy over all questions.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record
from spatialclaw.eval.benchmarks.rules import letter, lettered
from spatialclaw.eval.benchmarks.storage import DataRoot


class VideoMME(Benchmark):
    name = "video_mme"
    hf_id = "lmms-lab/Video-MME"
    title = "Video-MME"
    media = "video"
    defaults = Defaults(frames=32, max_steps=10)
    files = "videomme/test-00000-of-00001.parquet and videos_chunked_NN.zip (data/<videoID>.mp4)"
    schema_source = "lmms-eval tasks/videomme/utils.py (doc fields, data/<videoID>.mp4); parquet path from the repository"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.parquet_rows("videomme/test-*.parquet", "**/test-*.parquet")

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        video_id = str(row["videoID"])
        video = data.find(f"data/{video_id}.mp4", required=False) or data.find(f"{video_id}.mp4")
        return Record(str(row["question_id"]), str(row["question"]).strip(), lettered(row["options"]), row["answer"],
                      letter(row["answer"]), str(row["task_type"]), [MediaRef("video", video_id, video)],
                      extra={"duration": row.get("duration"), "domain": row.get("domain")})
