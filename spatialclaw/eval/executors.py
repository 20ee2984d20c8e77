"""Where benchmark questions run: local worker processes or Ray tasks, both calling `run_job`.

A job is one question; `run_job` answers it with `spatialclaw.agent.ask` in a fresh kernel of
its own and returns a `JobOutcome` (the answer, or the error that stopped it). Executors yield
outcomes as they finish, keeping at most ``workers`` jobs in flight; they never write results:
the coordinating process does (see `spatialclaw.eval.runner`).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spatialclaw.config import RunConfig
from spatialclaw.errors import RAY_ADDRESS_WITHOUT_RAY_TEXT, RAY_MISSING_TEXT, WORKER_DIED_TEXT, ConfigError, SpatialClawError


@dataclass(frozen=True)
class QuestionJob:
    """One question to answer.

    Attributes:
        id: the record's id.
        question: the question text, as the benchmark words it.
        options: the multiple-choice options, or None.
        input_path: the video file or scene folder, or a list of files for a question with
            several inputs (must be readable where the job runs).
        trajectory_dir: where the agent writes this question's trajectory.
        settings: how the agent answers it (the endpoint resolved by the coordinator, so that
            workers on other machines need no environment of their own).
        input_names: the benchmark's name for each of several inputs (the kernel's
            ``inputs[k].name``), or None for the file names.
    """

    id: str
    question: str
    options: list[str] | None
    input_path: str | list[str]
    trajectory_dir: str
    settings: RunConfig
    input_names: list[str] | None = None


@dataclass
class JobOutcome:
    """What running one job gave.

    Attributes:
        id: the job's id.
        prediction: the agent's answer (None when it never called ``answer``).
        answered: whether the agent called ``answer(...)``.
        steps: the number of model steps taken.
        usage: token usage summed over the run (the model client's keys).
        trajectory: the trajectory folder, or None.
        duration_s: wall-clock seconds of the whole run, kernel start included.
        error_type: the exception class name when the run failed (model endpoint, environment,
            or a bug), else None; then the other fields are empty.
        error: the one-line error message, else None.
        exception: the `SpatialClawError` itself when the run failed with one (it travels from the
            worker pickled), so the coordinator can raise the same kind; None for bugs and dead workers.
    """

    id: str
    prediction: Any = None
    answered: bool = False
    steps: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    trajectory: str | None = None
    duration_s: float = 0.0
    error_type: str | None = None
    error: str | None = None
    exception: SpatialClawError | None = field(default=None, repr=False, compare=False)

    @classmethod
    def failure(cls, id: str, err: SpatialClawError, duration_s: float = 0.0) -> JobOutcome:  # noqa: A002 - the record's word
        """The outcome of a run stopped by ``err``."""
        return cls(id, duration_s=duration_s, error_type=type(err).__name__, error=str(err), exception=err)

    @property
    def failed(self) -> bool:
        """True when the run failed (an error, not a wrong or missing answer)."""
        return self.error_type is not None


JobFunction = Callable[[QuestionJob], JobOutcome]


def run_job(job: QuestionJob) -> JobOutcome:
    """Answer one question with the agent, in a kernel of its own; never raises for a failed run.

    A wrong answer or no answer is a finished question (``error_type`` None). An error raised
    by the run (VLM unreachable, input unreadable, kernel dying, or a bug) is returned as the
    outcome's ``error_type`` / ``error``.
    """
    from spatialclaw.agent.loop import ask

    start = time.monotonic()
    out = Path(job.trajectory_dir)
    if out.exists():
        shutil.rmtree(out)  # left by an attempt that did not finish: finished ids never run again
    try:
        source: Any = job.input_path
        if job.input_names and isinstance(source, list):
            from spatialclaw.inputs.load import load_inputs

            source = load_inputs(source, names=job.input_names, **job.settings.sampling())
        result = ask(source, job.question, options=job.options, config=job.settings, out=out, progress=False)
    except SpatialClawError as err:
        return JobOutcome.failure(job.id, err, time.monotonic() - start)
    except Exception as err:  # a bug: recorded with where it happened, the evaluation goes on
        where = traceback.extract_tb(err.__traceback__)[-1]
        message = f"{err} (at {Path(where.filename).name}:{where.lineno})"
        return JobOutcome(job.id, duration_s=time.monotonic() - start, error_type=type(err).__name__, error=message)
    trajectory = getattr(result, "trajectory_dir", None)
    return JobOutcome(
        id=job.id,
        prediction=result.answer,
        answered=bool(result.answered),
        steps=len(result.steps),
        usage=dict(result.usage or {}),
        trajectory=str(trajectory) if trajectory is not None else None,
        duration_s=time.monotonic() - start,
    )


class Executor(Protocol):
    """Runs jobs and yields their outcomes in the order they finish."""

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        """Run every job, at most ``workers`` at a time; yield each outcome as it finishes."""
        ...

    def close(self) -> None:
        """Stop what still runs and release the workers."""
        ...


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker (through SystemExit, so kernels shut down) when the coordinator is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
            os._exit(1)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


def _run_in_worker(job_fn: JobFunction, job: QuestionJob) -> JobOutcome:
    """Run one job in a local worker; a SIGTERM ends the worker once the job has unwound
    (its kernel shut down), instead of letting the pool hand the worker the next job."""
    try:
        return job_fn(job)
    except SystemExit as stop:
        os._exit(stop.code if isinstance(stop.code, int) else 1)


def _init_local_worker(parent_pid: int) -> None:
    """Worker set-up: Ctrl-C is the coordinator's to handle; SIGTERM or the coordinator dying
    ends the worker through SystemExit, so the agent's kernel shuts down with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="watch-coordinator").start()


class LocalExecutor:
    """Jobs in ``workers`` local processes (spawned, reused), each running one job at a time.

    Args:
        workers: how many questions run at once.
        job_fn: the function run per job (a top-level function, importable by the workers).
    """

    def __init__(self, workers: int = 1, job_fn: JobFunction = run_job) -> None:
        if workers < 1:
            raise ConfigError.too_few_workers(workers)
        self.workers = workers
        self.job_fn = job_fn
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker,
            initargs=(os.getpid(),),
        )

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        pending = list(reversed(jobs))
        running: dict[Future[JobOutcome], QuestionJob] = {}
        self._pool = self._new_pool()
        while pending or running:
            while pending and len(running) < self.workers:
                job = pending.pop()
                running[self._pool.submit(_run_in_worker, self.job_fn, job)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                job = running.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = JobOutcome(job.id, error_type="WorkerDied", error=WORKER_DIED_TEXT)
                except (Exception, SystemExit) as err:  # the job function raised, or its worker was terminated
                    outcome = JobOutcome(job.id, error_type=type(err).__name__, error=str(err) or "the worker stopped")
                yield outcome
            if broken:  # every job still in the dead pool failed with it
                for future, job in running.items():
                    yield JobOutcome(job.id, error_type="WorkerDied", error=WORKER_DIED_TEXT)
                running.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
        self.close()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM → SystemExit in the worker → its kernel shuts down
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


class RayExecutor:
    """Jobs as Ray tasks (one CPU each), at most ``workers`` in flight.

    Connects to the cluster at ``address`` (``"auto"`` or ``ray://host:port``), or to the Ray
    instance this process already started, or starts a local one with ``workers`` CPUs. Inputs
    and the output folder must be on storage every node reads and writes at the same path.

    Args:
        workers: how many questions run at once.
        address: the Ray cluster address, or None.
        job_fn: the function run per job.
    """

    def __init__(self, workers: int = 1, address: str | None = None, job_fn: JobFunction = run_job) -> None:
        if workers < 1:
            raise ConfigError.too_few_workers(workers)
        try:
            import ray
        except ImportError:
            raise ConfigError(RAY_MISSING_TEXT) from None
        self._ray = ray
        self.workers = workers
        self._started_ray = False
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in ("SPATIALCLAW_CACHE",) if os.environ.get(k)}
            kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}} if env else {}
            try:
                if address:
                    ray.init(address=address, log_to_driver=False, **kwargs)
                else:
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ConfigError.ray_unreachable(address, err) from None
            self._started_ray = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(job_fn)
        self._running: dict[Any, QuestionJob] = {}

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        ray = self._ray
        pending = list(reversed(jobs))
        while pending or self._running:
            while pending and len(self._running) < self.workers:
                job = pending.pop()
                self._running[self._remote.remote(job)] = job
            done, _ = ray.wait(list(self._running), num_returns=1)
            for ref in done:
                job = self._running.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as err:  # the task's worker or node died
                    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                    yield JobOutcome(job.id, error_type=type(err).__name__, error=first_line)
        self.close()

    def close(self) -> None:
        for ref in list(self._running):
            self._ray.cancel(ref, force=True)
        self._running.clear()
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False


def make_executor(kind: str, workers: int, ray_address: str | None = None, job_fn: JobFunction = run_job) -> Executor:
    """The executor named by ``--executor`` (``"local"`` or ``"ray"``)."""
    if kind == "local":
        if ray_address:
            raise ConfigError(RAY_ADDRESS_WITHOUT_RAY_TEXT)
        return LocalExecutor(workers, job_fn)
    if kind == "ray":
        return RayExecutor(workers, ray_address, job_fn)
    raise ConfigError.unknown_choice("--executor", kind, ("local", "ray"))
