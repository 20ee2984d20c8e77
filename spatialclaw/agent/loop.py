"""The agent loop: a VLM writes one Python cell per step; the kernel runs it; the outputs go back.

    result = ask("room.mp4", "How far is the sofa from the TV?", model="qwen2.5-vl-7b",
                 base_url="http://127.0.0.1:8000/v1")
    print(result.answer, result.trajectory_dir)

The conversation is *derived* from typed step records (`spatialclaw.agent.steps`): the system
prompt, the first user turn (question, ``Options:`` block, key frames, step budget), then per
step the model's reply and the observation of its cell. The trajectory, a replay and the prompt
therefore agree. What the model caused (no cell, several cells, an exception, a time-out) is the
step's observation and the loop goes on; what the environment caused (the server refusing,
unreachable) raises `spatialclaw.errors.ModelError` after the trajectory is written.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialclaw import prompts
from spatialclaw.agent.conversation import Conversation
from spatialclaw.agent.events import AgentEvent
from spatialclaw.agent.kernel_images import images_for_model
from spatialclaw.agent.nested_calls import NestedCalls
from spatialclaw.agent.record import InputSummary, RunRecord
from spatialclaw.agent.reply_parsing import extract_cells, parse_final_answer
from spatialclaw.agent.steps import (
    CellStep,
    FinalStep,
    KeyFrame,
    NestedCall,
    NoCellStep,
    Step,
    TaskStep,
    observe_cell,
    outcome,
)
from spatialclaw.agent.trajectory import TrajectoryWriter
from spatialclaw.config import RunConfig
from spatialclaw.errors import ModelError, SpatialClawError
from spatialclaw.images import image_suffix
from spatialclaw.models.base import Image, Message, VLMClient

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.kernel.session import KernelSession

__all__ = ["Agent", "AgentEvent", "Result", "ask", "default_run_dir", "key_frame_positions"]



@dataclass
class Result:
    """The outcome of a run.

    Attributes:
        answer: the answer (an option letter, a number or text), or None.
        answered: whether the model gave one (via ``answer(...)`` or the final turn).
        steps: every step, the final answer turn included.
        usage: tokens and requests in total, nested calls included.
        trajectory_dir: the folder with trajectory.json / .ipynb / .html.
        perception: what the kernel reported about the perception backends.
        duration_s: wall-clock seconds of the run.
    """

    answer: Any
    answered: bool
    steps: list[Step]
    usage: dict[str, int]
    trajectory_dir: Path
    perception: dict = field(default_factory=dict)
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """What ``spatialclaw ask --json`` prints."""
        return {
            "answer": self.answer,
            "answered": self.answered,
            "steps": len(self.steps),
            "usage": self.usage,
            "trajectory": str(self.trajectory_dir),
        }


@dataclass
class RunContext:
    """One run's state, kept off the `Agent` so the agent holds only its settings.

    Attributes:
        session: the kernel the cells run in.
        options: the multiple-choice options, or None.
        writer: the run folder's writer.
        record: the run's record; its conversation holds the steps so far.
        wait_for_kernel: blocks until the kernel has started (started in the background).
        nested: the running cell's ``ask_vlm``/``locate`` calls, None between cells.
        nested_failure: the model error a nested call hit during the running cell.
    """

    session: KernelSession
    options: list[str] | None
    writer: TrajectoryWriter
    record: RunRecord
    wait_for_kernel: Callable[[], Any]
    nested: list[NestedCall] | None = None
    nested_failure: ModelError | None = None
    nested_total: int = 0

    @property
    def conversation(self) -> Conversation:
        return self.record.conversation

    def kernel_ready(self) -> None:
        """Wait for the kernel, then record what it chose (perception backends, sandbox)."""
        self.wait_for_kernel()
        self.record.kernel_ready(self.session)


def _record_kernel_choice(run: RunContext) -> None:
    """When no cell ran, the kernel started in the background anyway: its perception choice and
    sandbox still belong in the trajectory. A kernel that failed to start leaves them empty (no cell
    needed it, so the run is not failed for it)."""
    try:
        run.kernel_ready()
    except SpatialClawError:
        return


def key_frame_positions(n_frames: int, k: int) -> list[int]:
    """``k`` positions spread evenly over ``n_frames`` frames, first and last included.

    >>> key_frame_positions(10, 3)
    [0, 4, 9]
    """
    if n_frames <= 0 or k <= 0:
        return []
    if k >= n_frames:
        return list(range(n_frames))
    if k == 1:
        return [n_frames // 2]
    return sorted({round(i * (n_frames - 1) / (k - 1)) for i in range(k)})


def key_frames_of_inputs(inputs: list[list[int]], k: int) -> list[int]:
    """Key frames of several inputs: ``k`` shared evenly, at least one from every input (so the
    first turn shows each view or video), spread over each input's frame positions."""
    per_input = max(1, k // max(len(inputs), 1))
    chosen: list[int] = []
    for positions in inputs:
        chosen += [positions[p] for p in key_frame_positions(len(positions), per_input)]
    return chosen


def _span(positions: list[int]) -> str:
    if not positions:
        return "none"
    return f"{positions[0]}" if len(positions) == 1 else f"{positions[0]}-{positions[-1]}"


def _describe_source(loaded: LoadedInput | None) -> str:
    if loaded is None or loaded.kind == "none":
        return "no input (frames is empty)"
    if loaded.kind == "video":
        if loaded.source_fps:
            return f"a video of {loaded.source_frame_count / loaded.source_fps:.1f} s"
        return "a video"
    if loaded.kind == "rgbd":
        return "an RGB-D sequence (colour, depth and camera poses)"
    if loaded.kind == "multi":
        kinds = sorted({part.kind for part in loaded.inputs})
        return f"{len(loaded.inputs)} inputs ({', '.join(kinds)})"
    return f"{len(loaded.paths)} image(s)" if len(loaded.paths) != 1 else "an image"


def default_run_dir(question: str, root: Path = Path("runs")) -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<first words of the question>``, made unique."""
    slug = "-".join(re.findall(r"[a-z0-9]+", question.lower())[:6]) or "run"
    base = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class Agent(NestedCalls):
    """Runs the write-a-cell / see-the-output loop with one VLM client.

    Args:
        client: the model (`spatialclaw.models.make_client`).
        config: the run settings (`spatialclaw.config.RunConfig`; defaults where not given):
            ``max_steps`` cells, then one last code-free turn asks for the answer;
            ``show_frames`` key frames in the first user turn; ``max_side`` pixels, the long
            edge of every image sent (frames, cell images, nested calls); ``image_budget`` cell
            images kept in the prompt, newest first; ``cell_timeout`` seconds per cell;
            ``max_reply_tokens`` (None sends none); ``locate_coords`` (see
            `spatialclaw.agent.reply_parsing.parse_point`); and, for the kernels `run` starts,
            ``perception``, ``sandbox``, ``frames`` and ``fps``.
        on_event: called with an `AgentEvent` before each request, before each cell, after each step.
        **settings: `RunConfig` fields given one by one (``max_steps=6``); they win over ``config``.
    """

    def __init__(
        self,
        client: VLMClient,
        config: RunConfig | None = None,
        *,
        on_event: Callable[[AgentEvent], None] | None = None,
        **settings: Any,
    ) -> None:
        self.config = (config or RunConfig()).merged(**settings).resolved()
        if self.config.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.config.max_steps}")
        self.client = client
        self.on_event = on_event
        self._run: RunContext | None = None  # the run in progress, whose cells' nested calls are recorded

    # ------------------------------------------------------------------------- the run

    def run(
        self,
        source: KernelSession | LoadedInput | str | Path | None,
        question: str,
        options: list[str] | None = None,
        *,
        perception: str | None = None,
        frames: int | str | None = None,
        fps: float | None = None,
        sandbox: str | None = None,
        out: str | Path | None = None,
    ) -> Result:
        """Answer ``question`` about ``source`` (a started `KernelSession`, a loaded input, or a path).

        A session passed in is used as is (start it with ``host_handlers=agent.host_handlers()``
        for ``ask_vlm``/``locate``); otherwise one is made here with this agent's configuration
        (``perception``, ``frames``, ``fps`` and ``sandbox``, where given, win over it for this
        run), started in the background while the first model request is out
        (the first reply never needs the kernel), and shut down at the end. The trajectory goes
        to ``out`` (default `default_run_dir`). Raises `ModelError` when the server fails for
        good, and lets Ctrl-C through; in both cases the trajectory so far is written first, with
        the reason under ``error``.
        """
        from concurrent.futures import ThreadPoolExecutor

        from spatialclaw.kernel.session import KernelSession

        config = self.config.merged(perception=perception, frames=frames, fps=fps, sandbox=sandbox).resolved()
        writer = TrajectoryWriter(Path(out) if out is not None else default_run_dir(question))
        if isinstance(source, KernelSession):
            return self._run_in(source, question, options, writer, config, lambda: None)
        session = KernelSession(
            source,
            question=question,
            options=options,
            **config.sampling(),
            perception=config.perception,
            sandbox=config.sandbox,
            cell_timeout=config.cell_timeout,
            host_handlers=self.host_handlers(),
            perception_service=_perception_service(config),
        )
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-start") as pool:
            starting = pool.submit(session.start)
            try:
                return self._run_in(session, question, options, writer, config, starting.result)
            finally:
                if starting.exception() is None:
                    session.shutdown()

    def _run_in(
        self,
        session: KernelSession,
        question: str,
        options: list[str] | None,
        writer: TrajectoryWriter,
        config: RunConfig,
        wait_for_kernel: Callable[[], Any],
    ) -> Result:
        started = time.perf_counter()
        record = self._new_record(session, question, options, writer, config)
        writer.write_manifest(_manifest(session.input, question, options, config.perception))
        writer.write_progress(record.to_json())  # the live page exists from the start
        run = RunContext(session, options, writer, record, wait_for_kernel)
        self._run = run
        error: BaseException | None = None
        try:
            self._steps(run)
        except (ModelError, KeyboardInterrupt) as err:
            error = err
        except Exception as err:  # a bug of ours: the trajectory so far is still written, then it raises
            error = err
        finally:
            self._run = None
        if not record.perception_info and not isinstance(error, KeyboardInterrupt):
            _record_kernel_choice(run)
        record.duration_s = time.perf_counter() - started
        record.stopped(error)
        steps = run.conversation.steps
        answer, answered, usage = outcome(steps)
        result = Result(answer, answered, steps, usage.to_dict(), writer.folder, record.perception_info, record.duration_s)
        writer.write_all(record.to_json())
        if error is not None:
            raise error
        return result

    def _new_record(
        self, session: KernelSession, question: str, options: list[str] | None, writer: TrajectoryWriter, config: RunConfig
    ) -> RunRecord:
        """The run's record before the first step: prompts, first turn, settings."""
        from spatialclaw.primitives import render_prompt_section

        loaded = getattr(session, "input", None)
        n_frames = len(loaded.frames) if loaded is not None else 0
        system = prompts.system_prompt(
            primitives=render_prompt_section(),
            max_steps=self.config.max_steps,
            n_frames=n_frames,
            source_description=_describe_source(loaded),
            has_options=bool(options),
            vlm_calls_per_cell=self.config.vlm_calls_per_cell,
            vlm_calls_per_run=self.config.vlm_calls_per_run,
        )
        task = self._task_step(loaded, question, options, writer)
        return RunRecord(
            question=question,
            options=options,
            input=InputSummary.of(loaded),
            model=self.client.describe(),
            perception=config.perception,
            limits={
                "max_steps": self.config.max_steps,
                "show_frames": self.config.show_frames,
                "max_side": self.config.max_side,
                "image_budget": self.config.image_budget,
                "cell_timeout_s": self.config.cell_timeout,
            },
            conversation=Conversation(system, task),
            perception_info=getattr(session, "perception_info", {}),
            sandbox=getattr(session, "sandbox_info", {}),
        )

    def _task_step(self, loaded: LoadedInput | None, question: str, options: list[str] | None, writer: TrajectoryWriter) -> TaskStep:
        frames = loaded.frames if loaded is not None else []
        inputs = loaded.inputs if loaded is not None else []
        k = self.config.show_frames
        positions = key_frames_of_inputs([p.frames for p in inputs], k) if len(inputs) > 1 else key_frame_positions(len(frames), k)
        text = prompts.task_prompt(
            question=question, options=options, shown=positions, n_frames=len(frames), max_steps=self.config.max_steps,
            inputs=[f"inputs[{i}]: {part.kind} {part.name!r}, frames {_span(part.frames)}" for i, part in enumerate(inputs)],
        )
        shown = []
        for pos in positions:
            frame = frames[pos]
            image = Image.from_array(frame.image, max_side=self.config.max_side)
            rel = writer.add_image(f"frame_{pos:03d}.jpg", image.data)
            shown.append(KeyFrame(pos, frame.index, frame.time, image, rel))
        return TaskStep(text, shown)

    # ------------------------------------------------------------------------- the steps

    def _steps(self, run: RunContext) -> None:
        """Cells until one answers or the budget is spent, then the code-free answer turn."""
        for index in range(1, self.config.max_steps + 1):
            step = self._cell_turn(index, run)
            self._finish(step, run)
            if step.answered:
                return
        self._finish(self._final_turn(run), run)

    def _emit(self, event: AgentEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _request(self, step_index: int, messages: list[Message]):  # noqa: ANN202 - a Completion
        self._emit(AgentEvent("model", step_index, self.config.max_steps))
        return self.client.complete(messages, max_tokens=self.config.max_reply_tokens)

    def _cell_turn(self, index: int, run: RunContext) -> CellStep | NoCellStep:
        """Ask for the next cell; run it if the reply holds exactly one."""
        start = time.perf_counter()
        budget = self.config.image_budget
        messages = run.conversation.to_messages(budget)
        completion = self._request(index, messages)
        model = {"usage": completion.usage, "model_s": completion.duration_s}
        cells = extract_cells(completion.text)
        total = self.config.max_steps
        if len(cells) == 1:
            step: CellStep | NoCellStep = CellStep(index=index, reply=completion.text, code=cells[0], **model)
        else:
            step = NoCellStep.for_reply(index=index, reply=completion.text, cells=len(cells), left=total - index, total=total, **model)
        step.note_request(messages, completion.request_bytes, run.conversation.images_elided(budget))
        if isinstance(step, CellStep):
            self._run_cell(step, run)
        step.step_s = time.perf_counter() - start
        return step

    def _run_cell(self, step: CellStep, run: RunContext) -> None:
        """Run the step's cell and fill in what came of it; a nested call's model error stops the run."""
        wait_start = time.perf_counter()
        run.kernel_ready()
        step.kernel_wait_s = time.perf_counter() - wait_start
        self._emit(AgentEvent("cell", step.index, self.config.max_steps, code=step.code))
        run.nested = step.nested
        cell_start = time.perf_counter()
        try:
            result = run.session.execute(step.code, timeout=self.config.cell_timeout)
        finally:
            run.nested = None
        step.cell_s = time.perf_counter() - cell_start
        step.result = result
        if run.nested_failure is not None:
            failure, run.nested_failure = run.nested_failure, None
            run.conversation.steps.append(step)
            raise failure
        step.answered, step.answer = result.answered, result.answer
        step.images, step.sent_images, rejected = images_for_model(result.images, self.config.max_side)
        result.notices += rejected
        step.observation = observe_cell(result, cells_left=self.config.max_steps - step.index, total=self.config.max_steps)
        step.image_files = [run.writer.add_image(f"step_{step.index:02d}_{k}{image_suffix(data)}", data)
                            for k, data in enumerate(step.images, 1)]

    def _final_turn(self, run: RunContext) -> FinalStep:
        """The code-free turn that asks for the answer once the cells are spent."""
        start = time.perf_counter()
        index = self.config.max_steps + 1
        budget = self.config.image_budget
        prompt = prompts.final_prompt(max_steps=self.config.max_steps, has_options=bool(run.options))
        messages = run.conversation.to_messages(budget) + [Message("user", [prompt])]
        completion = self._request(index, messages)
        answer, answered = parse_final_answer(completion.text, run.options)
        step = FinalStep(
            index=index,
            reply=completion.text,
            prompt=prompt,
            answer=answer,
            answered=answered,
            usage=completion.usage,
            model_s=completion.duration_s,
        )
        step.note_request(messages, completion.request_bytes, run.conversation.images_elided(budget))
        step.step_s = time.perf_counter() - start
        return step

    def _finish(self, step: Step, run: RunContext) -> None:
        """Append the step, save the JSON and the live page so far (their time counts as the step's overhead), report it."""
        begin = time.perf_counter()
        run.conversation.steps.append(step)
        run.writer.write_progress(run.record.to_json())
        step.step_s += time.perf_counter() - begin
        self._emit(AgentEvent("step", step.index, self.config.max_steps, step=step))


def _manifest(loaded: LoadedInput | None, question: str, options: list[str] | None, perception: str) -> dict[str, Any]:
    """What the notebook's first cell hands to ``spatialclaw.kernel.bootstrap.run``."""
    from spatialclaw.config import cache_dir

    frames_file = loaded.frames_file if loaded is not None else None
    return {
        "frames_file": str(Path(frames_file).resolve()) if frames_file else None,
        "question": question,
        "options": list(options) if options else None,
        "source_kind": loaded.kind if loaded is not None else "none",
        "source_path": str(Path(loaded.paths[0]).resolve()) if loaded is not None and loaded.paths else None,
        "inputs": [part.to_dict() for part in loaded.inputs] if loaded is not None else [],
        "perception": perception,
        "cache_dir": str(cache_dir()),
    }


def ask(
    input: str | Path | list[str | Path] | None,  # noqa: A002 - the API's word for it
    question: str,
    *,
    options: list[str] | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    perception: str | None = None,
    frames: int | str | None = None,
    fps: float | None = None,
    max_steps: int | None = None,
    timeout: float | None = None,
    show_frames: int | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    sandbox: str | None = None,
    config: RunConfig | None = None,
    client: VLMClient | None = None,
) -> Result:
    """Answer ``question`` about a video, image(s) or RGB-D folder with a VLM that writes code.

    Every setting left None takes ``config``'s value, else its default (`spatialclaw.config.DEFAULTS`).

    Args:
        input: the video file, image file(s) or folder, or RGB-D folder; None for no input.
        question: the question.
        options: multiple-choice options (``["A. left", "B. right"]``); None for open answers.
        model: the served model name, or ``hf:PATH_OR_ID`` for a local transformers model
            (> ``$SPATIALCLAW_MODEL``).
        base_url: the OpenAI-compatible API root (> ``$OPENAI_BASE_URL``).
        api_key: (> ``$OPENAI_API_KEY``).
        perception: ``"auto"``, ``"gt"``, ``"learned"`` or ``"classical"``.
        frames: frames sampled from the input (``"all"`` for every frame).
        fps: sample this many frames per second of the source instead.
        max_steps: cells the model may run.
        timeout: seconds one cell may run.
        show_frames: key frames attached to the first message.
        out: trajectory folder (default ``runs/<time>-<question>``).
        progress: print live progress on the terminal.
        sandbox: isolation of the kernel: ``"auto"``, ``"bwrap"`` or ``"none"`` (see `spatialclaw.kernel.sandbox`).
        config: every other setting (`RunConfig`): ``max_side``, ``image_budget``, ...
        client: the VLM client to ask, already made for these settings (e.g. an eval worker's,
            reused across questions; the caller closes it); None makes one from ``model``,
            ``base_url`` and ``api_key`` for this run and closes it at the end.
    """
    from spatialclaw.models import check_endpoint, make_client
    from spatialclaw.models.clients import close_client

    run = (config or RunConfig()).merged(
        model=model,
        base_url=base_url,
        api_key=api_key,
        perception=perception,
        frames=frames,
        fps=fps,
        max_steps=max_steps,
        cell_timeout=timeout,
        show_frames=show_frames,
        sandbox=sandbox,
    )
    own_client = client is None
    if client is None:
        client = make_client(run.model, base_url=run.base_url, api_key=run.api_key, local_default=True)
    try:
        if own_client:
            check_endpoint(client)
        on_event = None
        if progress:
            from spatialclaw.agent.progress import ConsoleProgress

            on_event = ConsoleProgress()
        agent = Agent(client, run, on_event=on_event)
        source: Any = input
        if isinstance(input, list):
            from spatialclaw.inputs.load import load_input

            source = load_input(input, **agent.config.sampling())
        return agent.run(source, question, options, out=out)
    finally:
        if own_client:
            close_client(client)


def _perception_service(config: RunConfig) -> Any:
    """The run's perception service client (`spatialclaw.perception_service.address.service_for`), or None."""
    from spatialclaw.config import cache_dir
    from spatialclaw.perception_service.address import service_for

    return service_for(config.perception_service, cache_dir() / "perception")
