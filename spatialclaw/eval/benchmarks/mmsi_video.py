"""MMSI-Video-Bench (``rbler/MMSI-Video-Bench``): video-based spatial intelligence, one or several
videos (and reference images) per question.

Layout (official repository ``InternRobotics/MMSI-Video-Bench``, README and ``dataset.py``):
``mmsivideo.json``, a list of ``{id, type, video_list: [{path, start, end, base_fps}],
frames_list, ref_images, system_prompt, task_prompt, user_prompt, format_prompt,
ground_truth}``; the clips in ``videos.zip`` (``videos/<path>``), the frames sampled at the base
rate in ``frames.zip`` and the reference images in ``ref_images.zip`` (``ref_images/<path>``),
as shipped or unpacked. The inputs here are the video clips, then the reference images; the
pre-extracted frames (``frames_list``, the official Uniform-50 input) are not used. The question
is ``task_prompt + user_prompt`` (the official input without its system and format prompts, as
SpatialClaw has its own answer protocol).

Scoring (official ``evaluation.py``, ``main`` bench): exact letter against ``ground_truth``;
per ``type`` accuracy, overall = accuracy over all questions.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.benchmarks.base import Benchmark, Defaults, MediaRef, Record, row_id
from spatialclaw.eval.benchmarks.rules import letter, options_from_text
from spatialclaw.eval.benchmarks.storage import DataRoot


class MMSIVideoBench(Benchmark):
    name = "mmsi_video_bench"
    hf_id = "rbler/MMSI-Video-Bench"
    title = "MMSI-Video-Bench"
    media = "videos"
    tasks = ("(Cross-Video) Memoery Update", "(Cross-Video) Multi-View Integration", "Planning", "Prediction",
             "(Motion Understanding) Camera Motion", "(Motion Understanding) Instance Motion",
             "(Motion Understanding) Interactive Motion", "(Spatial Construction) Instance-Instance Spatial Relationship",
             "(Spatial Construction) Instance-Scene Spatial Relationship", "(Spatial Construction) Scene-Scene Spatial Relationship",
             "(Spatial Construction) Instance/Scene Attribute", "(Spatial Construction) Camera-Instance Spatial Relationship",
             "(Spatial Construction) Camera-Scene Spatial Relationship")
    defaults = Defaults(frames=50, max_steps=12)
    files = "mmsivideo.json with videos.zip and ref_images.zip (or videos/ and ref_images/)"
    schema_source = "official repo InternRobotics/MMSI-Video-Bench (README, dataset.py, evaluation.py)"

    def rows(self, data: DataRoot) -> list[dict[str, Any]]:
        return data.table_rows(data.first("mmsivideo.json", "data/mmsivideo.json", "**/mmsivideo.json"))

    def record(self, row: dict[str, Any], position: int, data: DataRoot) -> Record:
        rid = row_id(row, ("id",), position)
        inputs = []
        for k, video in enumerate(row["video_list"]):
            rel = str(video["path"])
            path = data.find(f"videos/{rel}", required=False) or data.find(rel)
            inputs.append(MediaRef("video", f"video {k + 1}", path))
        for k, rel in enumerate(row.get("ref_images") or []):
            path = data.find(f"ref_images/{rel}", required=False) or data.find(str(rel))
            inputs.append(MediaRef("image", f"reference image {k + 1}", path))
        question = f"{row.get('task_prompt') or ''}{row['user_prompt']}".strip()
        return Record(rid, question, options_from_text(str(row["user_prompt"])), row["ground_truth"],
                      letter(row["ground_truth"]), str(row["type"]), inputs)
