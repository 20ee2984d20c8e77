"""Evaluation throughput: questions per minute of ``spatialclaw eval`` at 1, 2 and 4 workers.

A synthetic benchmark is rendered here (one room, ``--frames`` frames at 320×240), and each
worker count answers the same questions with the real agent, kernels and ``--perception gt``,
against the scripted OpenAI-compatible server on 127.0.0.1 driven by
`spatialclaw.testing.synth_policy` (one real cell per question). The model answers at once
unless ``--model-latency`` adds a delay per request, as a served VLM would.

Prints, per worker count: wall seconds, questions per minute, speed-up over one worker, and the
overall score (it must not depend on the worker count). Each question starts its own kernel, so
on a machine with few cores the speed-up is bounded by the cores; with model latency it is not.

    python benchmarks/eval.py                         # 12 questions, 1/2/4 workers
    python benchmarks/eval.py --model-latency 2.0     # as if each model reply took 2 s
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from spatialclaw.config import RunConfig
from spatialclaw.eval.executors import LocalExecutor
from spatialclaw.eval.runner import EvalConfig, run_eval
from spatialclaw.synth.benchmark import make_benchmark
from spatialclaw.testing.scripted_vlm import ChatRequest, Reply, ScriptedVLM
from spatialclaw.testing.synth_policy import synth_policy


@dataclass
class Throughput:
    """One worker count's run: ``questions_per_min`` = questions / wall minutes; ``speedup`` vs 1 worker."""

    workers: int
    questions: int
    wall_s: float
    questions_per_min: float
    speedup: float
    overall: float | None
    errors: int


def _policy_with_latency(delay_s: float):
    def reply(request: ChatRequest) -> Reply:
        return Reply(synth_policy(request), delay_s=delay_s)

    return reply


def measure(bench: Path, questions: int, workers: int, frames: int, latency_s: float, out: Path) -> tuple[float, dict]:
    """Wall seconds and summary of one evaluation of the first ``questions`` questions."""
    with ScriptedVLM(_policy_with_latency(latency_s)) as vlm:
        settings = RunConfig(model=vlm.model, base_url=vlm.base_url, api_key="benchmark", perception="gt", frames=frames, max_steps=3)
        config = EvalConfig(questions=bench / "questions.jsonl", data_root=bench, out=out, settings=settings, workers=workers, limit=questions)
        start = time.perf_counter()
        summary = run_eval(config, executor=LocalExecutor(workers))
        return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=12, help="questions per run (the first N of the room)")
    parser.add_argument("--frames", type=int, default=8, help="frames rendered and sampled per room")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts to measure")
    parser.add_argument("--model-latency", type=float, default=0.0, help="seconds the scripted model waits per reply")
    parser.add_argument("--seed", type=int, default=3, help="benchmark seed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="spatialclaw-bench-eval-") as tmp:
        tmp_path = Path(tmp)
        os.environ.setdefault("SPATIALCLAW_CACHE", str(tmp_path / "cache"))
        bench = tmp_path / "bench"
        make_benchmark(bench, scenes=1, seed=args.seed, frames=args.frames, width=320, height=240)
        n_available = len((bench / "questions.jsonl").read_text().splitlines())
        questions = min(args.questions, n_available)
        rows: list[Throughput] = []
        for workers in args.workers:
            wall, summary = measure(bench, questions, workers, args.frames, args.model_latency, tmp_path / f"out-{workers}")
            base = rows[0].wall_s if rows else wall
            rows.append(
                Throughput(
                    workers=workers,
                    questions=summary["n"],
                    wall_s=round(wall, 2),
                    questions_per_min=round(60.0 * summary["n"] / wall, 2),
                    speedup=round(base / wall, 2),
                    overall=None if summary["overall"] is None else round(summary["overall"], 4),
                    errors=summary["errors"],
                )
            )
    print(f"cpu cores: {os.cpu_count()}  model latency: {args.model_latency:g} s  questions per run: {questions}")
    print(f"{'workers':>7} {'wall s':>8} {'q/min':>7} {'speed-up':>9} {'overall':>8} {'errors':>6}")
    for r in rows:
        overall = "–" if r.overall is None else f"{100 * r.overall:.1f}%"
        print(f"{r.workers:>7} {r.wall_s:>8.1f} {r.questions_per_min:>7.1f} {r.speedup:>8.2f}x {overall:>8} {r.errors:>6}")
    print(json.dumps([asdict(r) for r in rows]))


if __name__ == "__main__":
    main()
