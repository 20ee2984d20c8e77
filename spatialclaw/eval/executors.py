"""Where benchmark questions run: local worker processes or Ray actors, both calling `run_job`.

A job is one question; `run_job` answers it with `spatialclaw.agent.ask` in a fresh kernel of
its own and returns a `JobOutcome` (the answer, or the error that stopped it). Each worker is a
`QuestionWorker`: it keeps its VLM client from one question to the next (a ``--model hf:...``
model loads once per worker, not once per question) and closes it when the worker stops.
Executors yield outcomes as they finish, keeping at most ``workers`` jobs in flight; they never
write results: the coordinating process does (see `spatialclaw.eval.runner`).
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
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from spatialclaw.config import RunConfig
from spatialclaw.errors import WORKER_DIED_TEXT, ConfigError, SpatialClawError
from spatialclaw.models.clients import ModelClients


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
        model_loads: learned checkpoints the question's kernel loaded itself (checkpoint → times).
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
    model_loads: dict[str, int] = field(default_factory=dict)

    @classmethod
    def failure(cls, id: str, err: SpatialClawError, duration_s: float = 0.0) -> JobOutcome:  # noqa: A002 - the record's word
        """The outcome of a run stopped by ``err``."""
        return cls(id, duration_s=duration_s, error_type=type(err).__name__, error=str(err), exception=err)

    @property
    def failed(self) -> bool:
        """True when the run failed (an error, not a wrong or missing answer)."""
        return self.error_type is not None


JobFunction = Callable[[QuestionJob, "ModelClients | None"], JobOutcome]


def run_job(job: QuestionJob, clients: ModelClients | None = None) -> JobOutcome:
    """Answer one question with the agent, in a kernel of its own; never raises for a failed run.

    A wrong answer or no answer is a finished question (``error_type`` None). An error raised
    by the run (VLM unreachable, input unreadable, kernel dying, or a bug) is returned as the
    outcome's ``error_type`` / ``error``.

    Args:
        job: the question.
        clients: the worker's VLM clients, reused across its questions (a local model's weights
            load once per worker); None makes a client for this question alone.
    """
    from spatialclaw.agent.loop import ask

    start = time.monotonic()
    out = Path(job.trajectory_dir)
    if out.exists():
        shutil.rmtree(out)  # left by an attempt that did not finish: finished ids never run again
    try:
        settings = job.settings
        client = clients.get(settings.model, settings.base_url, settings.api_key) if clients is not None else None
        source: Any = job.input_path
        if job.input_names and isinstance(source, list):
            from spatialclaw.inputs.load import load_inputs

            source = load_inputs(source, names=job.input_names, **settings.sampling())
        result = ask(source, job.question, options=job.options, config=settings, out=out, progress=False, client=client)
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
        model_loads=dict((getattr(result, "perception", None) or {}).get("model_loads") or {}),
    )


class QuestionWorker:
    """What one worker (a local process or a Ray actor) keeps between its questions: its VLM
    clients, made on the first question and reused by the next ones until `close`.

    Args:
        job_fn: answers one job with the worker's clients (`run_job`).
    """

    def __init__(self, job_fn: JobFunction = run_job) -> None:
        self.job_fn = job_fn
        self.clients = ModelClients()

    def run(self, job: QuestionJob) -> JobOutcome:
        """Answer ``job``; an exception from the job function becomes a failed outcome."""
        try:
            return self.job_fn(job, self.clients)
        except Exception as err:  # noqa: BLE001 - the job function's bug, recorded, the worker goes on
            return JobOutcome(job.id, error_type=type(err).__name__, error=str(err) or type(err).__name__)

    def close(self) -> None:
        """Release the clients (a local model's weights)."""
        self.clients.close()


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


def _init_local_worker(parent_pid: int) -> None:
    """Worker set-up: Ctrl-C is the coordinator's to handle; SIGTERM or the coordinator dying
    ends the worker through SystemExit, so the agent's kernel shuts down with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="watch-coordinator").start()


def _local_worker_main(conn: Connection, job_fn: JobFunction, parent_pid: int) -> None:
    """A local worker process: answer the jobs the coordinator sends, one at a time, with one
    `QuestionWorker` (so one VLM client) for all of them, until told to stop (None), the
    coordinator's end closes, or SIGTERM; the clients are closed on the way out."""
    _init_local_worker(parent_pid)
    worker = QuestionWorker(job_fn)
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            conn.send(worker.run(job))
    finally:
        worker.close()


@dataclass(eq=False)
class _LocalWorker:
    """The coordinator's handle on one worker process, and the job it is answering (or None)."""

    process: BaseProcess
    conn: Connection
    job: QuestionJob | None = None

    def send(self, job: QuestionJob) -> None:
        """Hand ``job`` to the worker (a worker already gone shows as died when waited on)."""
        self.job = job
        try:
            self.conn.send(job)
        except OSError:  # BrokenPipeError: its process has ended; its sentinel is ready
            pass

    def finished(self) -> JobOutcome | None:
        """The outcome the worker sent, or None when it died without sending one."""
        try:
            return self.conn.recv() if self.conn.poll() else None
        except (EOFError, OSError):
            return None

    def stop(self, *, wait_s: float = 10.0) -> None:
        """End the process: ask an idle one to stop (it closes its clients), terminate a busy
        one (SIGTERM → SystemExit in the worker → its kernel shuts down), kill what outlives ``wait_s``."""
        if self.job is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
        elif self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=wait_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=wait_s)
        self.conn.close()


class LocalExecutor:
    """Jobs in ``workers`` local processes (spawned, reused), each running one job at a time and
    keeping its VLM client (`QuestionWorker`) from one job to the next.

    Args:
        workers: how many questions run at once.
        job_fn: the function run per job (a top-level function, importable by the workers).
    """

    def __init__(self, workers: int = 1, job_fn: JobFunction = run_job) -> None:
        if workers < 1:
            raise ConfigError.too_few_workers(workers)
        self.workers = workers
        self.job_fn = job_fn
        self._started: list[_LocalWorker] = []

    def _start_worker(self) -> _LocalWorker:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_local_worker_main, args=(theirs, self.job_fn, os.getpid()), name="eval-worker")
        process.start()
        theirs.close()
        worker = _LocalWorker(process, ours)
        self._started.append(worker)
        return worker

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        pending = list(reversed(jobs))
        idle = [self._start_worker() for _ in range(min(self.workers, len(jobs)))]
        busy: list[_LocalWorker] = []
        while pending or busy:
            while pending and idle:
                worker = idle.pop()
                worker.send(pending.pop())
                busy.append(worker)
            ready = set(connection_wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in [w for w in busy if w.conn in ready or w.process.sentinel in ready]:
                busy.remove(worker)
                job, outcome = worker.job, worker.finished()
                if outcome is None and job is not None:  # the process died with the job: only that job fails
                    self._started.remove(worker)
                    worker.stop()
                    outcome = JobOutcome(job.id, error_type="WorkerDied", error=WORKER_DIED_TEXT)
                    if pending:
                        idle.append(self._start_worker())
                else:
                    worker.job = None
                    idle.append(worker)
                yield outcome
        self.close()

    def close(self) -> None:
        workers, self._started = self._started, []
        for worker in workers:
            if worker.job is not None and worker.process.is_alive():
                worker.process.terminate()  # every busy one first, so they shut down together
        for worker in workers:
            worker.stop()


class RayExecutor:
    """Jobs on ``workers`` Ray actors (one CPU each), each answering one job at a time and keeping
    its VLM client (`QuestionWorker`) from one job to the next.

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
            raise ConfigError.ray_missing() from None
        self._ray = ray
        self.workers = workers
        self.job_fn = job_fn
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
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(QuestionWorker)
        self._actors: list[Any] = []
        self._running: dict[Any, tuple[Any, QuestionJob]] = {}

    def _new_actor(self) -> Any:
        actor = self._actor_class.remote(self.job_fn)
        self._actors.append(actor)
        return actor

    def run(self, jobs: Sequence[QuestionJob]) -> Iterator[JobOutcome]:
        ray = self._ray
        pending = list(reversed(jobs))
        idle = [self._new_actor() for _ in range(min(self.workers, len(jobs)))]
        while pending or self._running:
            while pending and idle:
                actor, job = idle.pop(), pending.pop()
                self._running[actor.run.remote(job)] = (actor, job)
            done, _ = ray.wait(list(self._running), num_returns=1)
            for ref in done:
                actor, job = self._running.pop(ref)
                try:
                    outcome = ray.get(ref)
                    idle.append(actor)
                except ray.exceptions.RayError as err:  # the actor's worker or node died
                    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                    outcome = JobOutcome(job.id, error_type=type(err).__name__, error=first_line)
                    self._actors.remove(actor)
                    ray.kill(actor)
                    if pending:
                        idle.append(self._new_actor())
                yield outcome
        self.close()

    def close(self) -> None:
        ray = self._ray
        busy = {id(actor) for actor, _ in self._running.values()}
        self._running.clear()
        actors, self._actors = self._actors, []
        closing = [actor.close.remote() for actor in actors if id(actor) not in busy]
        if closing:
            ray.wait(closing, num_returns=len(closing), timeout=30)
        for actor in actors:
            ray.kill(actor)
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


def make_executor(kind: str, workers: int, ray_address: str | None = None, job_fn: JobFunction = run_job) -> Executor:
    """The executor named by ``--executor`` (``"local"`` or ``"ray"``)."""
    if kind == "local":
        if ray_address:
            raise ConfigError.ray_address_without_ray()
        return LocalExecutor(workers, job_fn)
    if kind == "ray":
        return RayExecutor(workers, ray_address, job_fn)
    raise ConfigError.unknown_choice("--executor", kind, ("local", "ray"))
