"""``spatialclaw eval``: answer a benchmark's questions in parallel and score them as VSI-Bench does.

Only typer and the standard library are imported at start; the evaluation modules load inside
the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spatialclaw.cli.options import (
    FRAMES_HELP,
    MAX_STEPS_HELP,
    PERCEPTION_HELP,
    PERCEPTION_SERVICE_HELP,
    SANDBOX_CHOICES,
    SANDBOX_HELP,
    SHOW_FRAMES_HELP,
    TIMEOUT_HELP,
    check_choice,
    check_perception,
)
from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, RunConfig
from spatialclaw.errors import INTERRUPTED_EVAL_TEXT, ConfigError

EXECUTOR_CHOICES = ("local", "ray")

EVAL_HELP = """Evaluate on a benchmark: answer every question with the agent, score it by the
benchmark's rules, and write the results as they come. `--benchmark NAME` reads a registered
benchmark from its released files under `--data-root` (its frames and steps are the defaults, and
go into `summary.json`); `--predictions FILE.jsonl` scores answers made elsewhere, no model.

QUESTIONS is a .jsonl, .json or .parquet file of records with the fields `id, dataset,
scene_name, question_type, question, options, ground_truth`. Each record's input is
`DATA_ROOT/DATASET/SCENE_NAME.mp4`, or the folder `DATA_ROOT/DATASET/SCENE_NAME/` (DATASET and
SCENE_NAME are the record's `dataset` and `scene_name`).

Writes into `--out`: `results.jsonl` (one line per finished question, appended as each
finishes), `errors.jsonl` (questions whose run failed: VLM unreachable, unreadable input),
`summary.json`, `summary.md`, `summary.png` and each question's trajectory. Multiple choice
scores 1 for the right letter; numbers score the Mean Relative Accuracy; overall is the mean of
the task means. `--resume` skips the questions already in `results.jsonl` and retries the failed
ones, so an interrupted run loses and repeats nothing.

Examples:

    spatialclaw eval vsibench/test.parquet --data-root vsibench/ --model gpt-4o --out runs/gpt4o

    spatialclaw eval --benchmark mmsi_bench --data-root data/MMSI-Bench --model gpt-4o --out runs/mmsi

    spatialclaw eval --benchmark mmsi_bench --data-root data/MMSI-Bench --predictions other.jsonl --out runs/other

    spatialclaw eval report runs/mmsi runs/vsi --out table

    spatialclaw eval bench/questions.jsonl --data-root bench/ --perception gt --workers 4 --out runs/gt

    spatialclaw eval vsibench/test.parquet --data-root vsibench/ --out runs/gpt4o --resume

    spatialclaw eval q.jsonl --data-root /shared/vsibench --executor ray --ray-address auto --workers 32 --out /shared/runs/a
"""


def eval_command(
    questions: Optional[Path] = typer.Argument(None, metavar="[QUESTIONS]", help="VSI-Bench records: .jsonl, .json or .parquet (or use --benchmark)."),
    data_root: Path = typer.Option(..., "--data-root", help="Folder holding DATASET/SCENE_NAME.mp4 (or the folder DATASET/SCENE_NAME/) per record, or the --benchmark's files as released."),
    out: Path = typer.Option(..., "--out", help="Output folder for results, summary and trajectories."),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", help="A benchmark by name (spatialclaw benchmarks lists them), read from --data-root."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Score these {\"id\", \"prediction\"} lines (JSONL) by the benchmark's rules; no model runs."),
    model: Optional[str] = typer.Option(None, "--model", help=f"VLM name (default: ${ENV_MODEL})."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help=f"OpenAI-compatible endpoint (default: ${ENV_BASE_URL})."),
    api_key: Optional[str] = typer.Option(None, "--api-key", help=f"API key (default: ${ENV_API_KEY})."),
    perception: Optional[str] = typer.Option(None, "--perception", help=PERCEPTION_HELP),
    sandbox: Optional[str] = typer.Option(None, "--sandbox", help=SANDBOX_HELP),
    perception_service: Optional[str] = typer.Option(None, "--perception-service", metavar="ADDRESS", help=PERCEPTION_SERVICE_HELP),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, help=FRAMES_HELP),
    show_frames: Optional[int] = typer.Option(None, "--show-frames", min=0, help=SHOW_FRAMES_HELP),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help=MAX_STEPS_HELP),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1.0, help=TIMEOUT_HELP),
    workers: int = typer.Option(1, "--workers", min=1, help="Questions answered at once, each in its own kernel."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out: skip finished questions, retry failed ones."),
    executor: str = typer.Option("local", "--executor", help="Where questions run: local (worker processes) or ray."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (e.g. auto); default starts a local Ray."),
) -> None:
    check_perception(perception)
    check_choice("--sandbox", sandbox, SANDBOX_CHOICES)
    if executor not in EXECUTOR_CHOICES:
        raise ConfigError.unknown_choice("--executor", executor, EXECUTOR_CHOICES)

    if predictions is not None:
        _score_predictions(benchmark, data_root, predictions, out)
        return
    if benchmark is not None:
        frames, max_steps = _benchmark_defaults(benchmark, frames, max_steps)
    from spatialclaw.eval.progress import ProgressDisplay
    from spatialclaw.eval.report import summary_markdown
    from spatialclaw.eval.runner import EvalConfig, run_eval

    config = EvalConfig(
        questions=questions,
        data_root=data_root,
        out=out,
        settings=RunConfig(
            model=model,
            base_url=base_url,
            api_key=api_key,
            perception=perception,
            sandbox=sandbox,
            frames=frames,
            show_frames=show_frames,
            max_steps=max_steps,
            cell_timeout=timeout,
            perception_service=perception_service,
        ).with_endpoint_from_env(),
        benchmark=benchmark,
        workers=workers,
        limit=limit,
        resume=resume,
        executor=executor,
        ray_address=ray_address,
    )
    try:
        with ProgressDisplay() as display:
            summary = run_eval(config, on_progress=display.update)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_EVAL_TEXT.format(results=out / "results.jsonl"), err=True)
        raise SystemExit(130) from None
    typer.echo(summary_markdown(summary), nl=False)
    typer.echo(f"results: {out / 'results.jsonl'}  summary: {out / 'summary.json'}")


def _score_predictions(benchmark: Optional[str], data_root: Path, predictions: Path, out: Path) -> None:
    """``--predictions``: score answers made elsewhere by the benchmark's rules, no model."""
    if benchmark is None:
        raise ConfigError.predictions_need_benchmark()
    from spatialclaw.eval.report import summary_markdown
    from spatialclaw.eval.score_only import score_file

    summary = score_file(benchmark, data_root, predictions, out)
    typer.echo(summary_markdown(summary), nl=False)
    typer.echo(f"scores: {out / 'results.jsonl'}  summary: {out / 'summary.json'}")


def _benchmark_defaults(benchmark: str, frames: Optional[int], max_steps: Optional[int]) -> tuple[int, int]:
    """The flags, else the benchmark's own frames and steps."""
    from spatialclaw.eval.benchmarks import get_benchmark

    defaults = get_benchmark(benchmark).defaults
    return frames or defaults.frames, max_steps or defaults.max_steps
