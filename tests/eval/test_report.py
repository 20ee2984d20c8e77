"""The report's name for what was evaluated: never "VSI-Bench" for another benchmark."""

from __future__ import annotations

from spatialclaw.eval.report import benchmark_title


def test_title_is_the_benchmark_or_the_questions_file() -> None:
    assert benchmark_title({"benchmark": "mmsi-bench"}) == "mmsi-bench"
    assert benchmark_title({"questions": "/data/bench/my_questions.jsonl"}) == "my_questions.jsonl"
    assert benchmark_title({}) == "benchmark"
