"""Scoring predictions made elsewhere (``spatialclaw eval --benchmark NAME --predictions FILE``).

Writes into the output folder ``results.jsonl`` (one scored row per question), ``summary.json``,
``summary.md`` and ``summary.png``, the same files an agent run writes, so ``eval report`` puts
other systems' numbers beside ours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spatialclaw.errors import ConfigError


def score_file(benchmark: str, data_root: Path, predictions: Path, out: Path) -> dict[str, Any]:
    """Score ``predictions`` against the benchmark under ``data_root``; returns the summary.

    Raises:
        InputError: the benchmark's files or the predictions file are missing or malformed.
        ConfigError: the benchmark is unknown, or ``out`` already holds results.
    """
    from spatialclaw.eval.benchmarks import get_benchmark
    from spatialclaw.eval.benchmarks.scored import read_predictions, score_predictions
    from spatialclaw.eval.report import write_report

    bench = get_benchmark(benchmark)
    records = bench.load(data_root)
    answers = read_predictions(predictions)
    rows, summary = score_predictions(bench, records, answers)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    if results.exists() and results.stat().st_size > 0:
        raise ConfigError.predictions_out_has_results(out)
    results.write_text("".join(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in rows))
    summary["predictions"] = str(predictions.resolve())
    write_report(out, summary)
    return summary
