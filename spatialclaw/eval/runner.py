"""`run_eval`: answer every benchmark question, score it, and write the results as they come.

The output folder::

    OUT/results.jsonl    one line per finished question (appended as each finishes)
    OUT/errors.jsonl     one line per failed attempt (VLM unreachable, input unreadable, ...)
    OUT/summary.json     {"overall", "per_task", "n", "unparsed", "errors", "missing", ...}
    OUT/summary.md       the same as a Markdown table
    OUT/summary.png      a bar chart of the task scores
    OUT/run.json         the settings of the run (no API key)
    OUT/trajectories/<id>/   each question's trajectory

A question is *finished* when the agent ran to the end, whether it answered right, wrong or not
at all (no answer scores 0 and counts as unparsed). A question whose run failed because of the
model endpoint or the environment is *not* finished: it goes to ``errors.jsonl``, is counted in
the summary's ``errors`` (not scored), and runs again with ``--resume``. ``--resume`` skips the
ids already in ``results.jsonl``, so a killed run loses nothing and repeats nothing.
"""

from __future__ import annotations

import fcntl
import json
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spatialclaw.errors import EVAL_ALL_FAILED_TEXT, ConfigError, SpatialClawError
from spatialclaw.config import RunConfig
from spatialclaw.eval.executors import Executor, JobOutcome, QuestionJob, make_executor
from spatialclaw.eval.records import BenchmarkRecord, check_inputs, read_records
from spatialclaw.eval.results import JsonlLog, relative_trajectory
from spatialclaw.eval.scoring import score_prediction, summarise

RESULTS_FILE = "results.jsonl"
ERRORS_FILE = "errors.jsonl"
RUN_FILE = "run.json"
LOCK_FILE = ".eval.lock"
# Settings that must not change between a run and its --resume (they change the answers); the
# endpoint (--base-url) may: the same model served elsewhere answers alike.
RESUME_KEYS = ("questions", "model", "perception", "frames", "fps", "max_steps")
# Stop early when the first this-many questions all fail with one of these, or all with one same error.
FAIL_FAST_COUNT = 3
FAIL_FAST_TYPES = frozenset({"ModelError", "ConfigError"})


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation.

    Attributes:
        questions: a VSI-Bench records file (.jsonl, .json or .parquet), or None with ``benchmark``.
        data_root: the folder holding ``<dataset>/<scene_name>.mp4`` (or scene folders).
        out: the output folder.
        settings: how the agent answers each question (every setting `spatialclaw.ask` takes).
        workers: questions run at once.
        limit: only the first ``limit`` records, or all when None.
        resume: continue in an output folder that already has results.
        executor: ``"local"`` (worker processes) or ``"ray"``.
        ray_address: the Ray cluster for ``executor="ray"``; None starts a local Ray.
        benchmark: a registered benchmark's name (`spatialclaw.eval.benchmarks`): its records are
            read from ``data_root`` as released and scored by its own rules.
    """

    questions: Path | None
    data_root: Path
    out: Path
    settings: RunConfig = RunConfig()
    benchmark: str | None = None
    workers: int = 1
    limit: int | None = None
    resume: bool = False
    executor: str = "local"
    ray_address: str | None = None


@dataclass
class Progress:
    """What a progress display is told after each question (finished or failed)."""

    done: int
    total: int
    errors: int
    running_score: float | None


def trajectory_name(record_id: str) -> str:
    """A folder name for a record id (characters outside ``[A-Za-z0-9._-]`` become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", record_id) or "_"


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    with open(out / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError.output_in_use(out) from None
        try:
            yield
        finally:  # removed while still held, so no empty lock file stays behind
            (out / LOCK_FILE).unlink(missing_ok=True)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let ``kill`` (SIGTERM) stop the run like Ctrl-C does, so workers are shut down cleanly."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _settings_info(settings: RunConfig) -> dict[str, Any]:
    """The run's settings as run.json records them: defaults filled in, no API key."""
    return {**settings.resolved().public(), **settings.sampling()}


def _check_resume(config: EvalConfig, run_info: dict[str, Any]) -> None:
    run_path = config.out / RUN_FILE
    results = config.out / RESULTS_FILE
    if not config.resume:
        if results.exists() and results.stat().st_size > 0:
            raise ConfigError.output_has_results(config.out)
        return
    if not run_path.exists():
        return
    before = json.loads(run_path.read_text())
    changed = [k for k in RESUME_KEYS if k in before and before[k] != run_info[k]]
    if changed:
        was = ", ".join(f"{k}={before[k]!r}" for k in changed)
        raise ConfigError.resume_changed(config.out, was)


def _result_row(record: BenchmarkRecord, outcome: JobOutcome, out: Path) -> dict[str, Any]:
    score = score_prediction(outcome.prediction, record.ground_truth, record.question_type, record.options)
    trajectory = relative_trajectory(outcome.trajectory, out)
    return {
        "id": record.id,
        "dataset": record.dataset,
        "scene_name": record.scene_name,
        "question_type": record.question_type,
        "prediction": outcome.prediction,
        "parsed": score.parsed,
        "ground_truth": record.ground_truth,
        "score": score.score,
        "unparsed": score.unparsed,
        "answered": outcome.answered,
        "steps": outcome.steps,
        "usage": outcome.usage,
        "duration_s": round(outcome.duration_s, 3),
        "trajectory": trajectory,
    }


@dataclass(frozen=True)
class _Suite:
    """What an evaluation runs over: its records, each record's input, and how rows are scored."""

    records: list[Any]
    inputs: dict[str, str | list[str]]
    result_row: Callable[[Any, JobOutcome, Path], dict[str, Any]]
    summarise: Callable[[list[dict[str, Any]]], dict[str, Any]]
    info: dict[str, Any]
    input_names: dict[str, list[str]] = field(default_factory=dict)


def _questions_suite(config: EvalConfig) -> _Suite:
    records = read_records(config.questions)  # type: ignore[arg-type]
    if config.limit is not None:
        records = records[: max(config.limit, 0)]
    inputs = {rid: str(path.resolve()) for rid, path in check_inputs(records, config.data_root).items()}
    return _Suite(records, inputs, _result_row, summarise, {"questions": str(Path(config.questions).resolve())})  # type: ignore[arg-type]


def _benchmark_suite(config: EvalConfig) -> _Suite:
    from spatialclaw.eval.benchmarks import get_benchmark
    from spatialclaw.eval.benchmarks.scored import result_row

    bench = get_benchmark(str(config.benchmark))
    records = bench.load(config.data_root)
    if config.limit is not None:
        records = records[: max(config.limit, 0)]
    inputs: dict[str, str | list[str]] = {}
    names: dict[str, list[str]] = {}
    for r in records:
        paths = [str(m.path.resolve()) for m in r.inputs]
        inputs[r.id] = paths[0] if len(paths) == 1 else paths
        if len(paths) > 1:
            names[r.id] = [m.name for m in r.inputs]
    info = {"benchmark": bench.name, "hf_id": bench.hf_id, "questions": f"{bench.name}:{Path(config.data_root).resolve()}",
            "defaults": bench.defaults.to_dict()}
    return _Suite(records, inputs, lambda rec, outcome, out: result_row(bench, rec, outcome, out), bench.aggregate, info, names)


def build_summary(
    records: list[Any], results: list[dict[str, Any]], failed_ids: set[str],
    summarise_rows: Callable[[list[dict[str, Any]]], dict[str, Any]] = summarise,
) -> dict[str, Any]:
    """The summary of the selected records: VSI-Bench scores over the finished ones, plus counts.

    Args:
        records: the selected records (``--limit`` applied).
        results: rows of ``results.jsonl``.
        failed_ids: ids whose last attempt failed (from ``errors.jsonl``).

    Returns:
        `spatialclaw.eval.scoring.summarise` of the finished rows, with ``errors`` (selected
        questions not finished whose last attempt failed), ``missing`` (selected questions not
        finished, failed or never run) and ``total`` (selected questions).
    """
    selected = {r.id for r in records}
    finished = [row for row in results if row["id"] in selected]
    finished_ids = {row["id"] for row in finished}
    summary = summarise_rows(finished)
    summary["errors"] = len((failed_ids & selected) - finished_ids)
    summary["missing"] = len(selected - finished_ids)
    summary["total"] = len(selected)
    return summary


def run_eval(
    config: EvalConfig,
    *,
    executor: Executor | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation and write its results, summary, table and chart.

    Args:
        config: what to evaluate and how.
        executor: where jobs run; by default the one ``config.executor`` names.
        on_progress: called after each question with the counts and the running overall score.

    Returns:
        The summary (also written to ``OUT/summary.json``).

    Raises:
        InputError: the question file or a scene is missing or malformed.
        ConfigError: the output folder holds another run's results, or is in use.
        SpatialClawError: the first questions all failed the same way (e.g. the VLM is unreachable):
            the error of the first, so the user can fix it and ``--resume``.
    """
    from spatialclaw.eval.report import write_report

    if (config.questions is None) == (config.benchmark is None):
        raise ConfigError.eval_needs_one_source()
    suite = _questions_suite(config) if config.benchmark is None else _benchmark_suite(config)
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    run_info = {**suite.info, **_settings_info(config.settings)}

    with _exclusive(out):
        _check_resume(config, run_info)
        (out / RUN_FILE).write_text(json.dumps({**run_info, "data_root": str(config.data_root)}, indent=2) + "\n")
        run = _Run(suite, out, JsonlLog(out / RESULTS_FILE), JsonlLog(out / ERRORS_FILE))
        jobs = run.pending_jobs(config)
        run.progress.running_score = run.summary()["overall"]
        if on_progress:
            on_progress(run.progress)
        if jobs:
            executor = executor or make_executor(config.executor, config.workers, config.ray_address)
            try:
                with _sigterm_as_interrupt():
                    for outcome in executor.run(jobs):
                        run.record(outcome, len(jobs))
                        if on_progress:
                            on_progress(run.progress)
            finally:
                executor.close()
                summary = run.summary()
                _add_model_loads(summary, run.model_loads, config.settings)
                write_report(out, summary)
        else:
            summary = run.summary()
            write_report(out, summary)
    return summary


class _Run:
    """One evaluation in progress: the suite, the logs read back, the counts, and what each
    finished job adds to them."""

    def __init__(self, suite: _Suite, out: Path, results_log: JsonlLog, errors_log: JsonlLog) -> None:
        self.suite, self.out = suite, out
        self.results_log, self.errors_log = results_log, errors_log
        self.results = results_log.read()
        self.failed_ids = {row["id"] for row in errors_log.read()}
        done = {row["id"] for row in self.results}
        self.already_done = sum(1 for r in suite.records if r.id in done)
        self.progress = Progress(done=self.already_done, total=len(suite.records), errors=0, running_score=None)
        self.failures: list[JobOutcome] = []
        self.by_id = {r.id: r for r in suite.records}
        self.model_loads: dict[str, int] = {}  # what this run's kernels loaded themselves

    def pending_jobs(self, config: EvalConfig) -> list[QuestionJob]:
        """A job for every selected record without a result yet (failed ones run again)."""
        done = {row["id"] for row in self.results}
        return [
            QuestionJob(
                id=r.id,
                question=r.question,
                options=r.options,
                input_path=self.suite.inputs[r.id],
                trajectory_dir=str((self.out / "trajectories" / trajectory_name(r.id)).resolve()),
                settings=config.settings,
                input_names=self.suite.input_names.get(r.id),
            )
            for r in self.suite.records
            if r.id not in done
        ]

    def summary(self) -> dict[str, Any]:
        """`build_summary` of the run so far, with the suite's identity (benchmark, questions, ...)."""
        summary = build_summary(self.suite.records, self.results, self.failed_ids, self.suite.summarise)
        summary.update({k: v for k, v in self.suite.info.items() if k in ("benchmark", "questions", "hf_id", "defaults")})
        return summary

    def record(self, outcome: JobOutcome, n_jobs: int) -> None:
        """Log a finished job: its error, or its scored row; stop early when nothing will succeed."""
        if outcome.failed:
            self.errors_log.append({"id": outcome.id, "error_type": outcome.error_type, "error": outcome.error})
            self.failed_ids.add(outcome.id)
            self.failures.append(outcome)
            self.progress.errors += 1
            if _nothing_will_succeed(self.failures, min(FAIL_FAST_COUNT, n_jobs), self.progress.done > self.already_done):
                _raise_first(self.failures)
            return
        for checkpoint, times in outcome.model_loads.items():
            self.model_loads[checkpoint] = self.model_loads.get(checkpoint, 0) + times
        row = self.suite.result_row(self.by_id[outcome.id], outcome, self.out)
        _show_score_on_trajectory(outcome.trajectory, row)
        self.results_log.append(row)
        self.results.append(row)
        self.progress.done += 1
        self.progress.running_score = build_summary(self.suite.records, self.results, set(), self.suite.summarise)["overall"]


def _add_model_loads(summary: dict[str, Any], kernel_loads: dict[str, int], settings: RunConfig) -> None:
    """``summary["perception"]["model_loads"]``: checkpoint → times loaded in this run, summed over
    the perception service (stopped here when it was started on demand) and the kernels."""
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.address import finish_run

    loads = dict(kernel_loads)
    for checkpoint, times in finish_run(settings.perception_service, cache_dir() / "perception").items():
        loads[checkpoint] = loads.get(checkpoint, 0) + times
    if loads:
        summary["perception"] = {"model_loads": loads}


def _show_score_on_trajectory(folder: str | None, row: dict[str, Any]) -> None:
    """Put the ground truth and the score on the question's trajectory page."""
    from spatialclaw.agent.trajectory import JSON_NAME, TrajectoryWriter

    if folder and (Path(folder) / JSON_NAME).is_file():
        keys = ("question_type", "ground_truth", "prediction", "parsed", "score")
        fallback = {"question_type": row.get("task"), "ground_truth": row.get("answer")}  # a --benchmark row's names
        TrajectoryWriter(folder).write_evaluation({k: row.get(k, fallback.get(k)) for k in keys})


def _nothing_will_succeed(failures: list[JobOutcome], count: int, any_finished: bool) -> bool:
    """True when the first ``count`` questions all failed with the endpoint or configuration, or
    all with the very same error: going on would only fail every other question the same way."""
    if any_finished or len(failures) < count:
        return False
    if all(f.error_type in FAIL_FAST_TYPES for f in failures):
        return True
    return len({(f.error_type, f.error) for f in failures}) == 1


def _raise_first(failures: list[JobOutcome]) -> None:
    """Raise the first failure again (the same kind of error), saying the run stopped because of it."""
    first = failures[0]
    note = EVAL_ALL_FAILED_TEXT.format(count=len(failures))
    if first.exception is not None:
        raise first.exception.with_note(note)
    raise SpatialClawError.recorded(first.error_type, first.error).with_note(note)
