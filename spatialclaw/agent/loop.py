"""The agent loop: a VLM writes one Python cell per step; the kernel runs it; the outputs go back.

    result = ask("room.mp4", "How far is the sofa from the TV?", model="qwen2.5-vl-7b",
                 base_url="http://127.0.0.1:8000/v1")
    print(result.answer, result.trajectory_dir)

The conversation is *derived* from typed `Step` records (``Step.to_messages``): the system
prompt, the first user turn (question, ``Options:`` block, key frames, step budget), then per
step the model's reply and the observation of its cell. The trajectory, a replay and the prompt
therefore agree. What the model caused (no cell, several cells, an exception, a time-out) is the
step's observation and the loop goes on; what the environment caused (the server refusing,
unreachable) raises `spatialclaw.errors.ModelError` after the trajectory is written.
"""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spatialclaw import prompts
from spatialclaw.errors import ModelError
from spatialclaw.models.base import Image, Message, VLMClient
from spatialclaw.agent.reply_parsing import extract_cells, parse_final_answer, parse_point
from spatialclaw.agent.steps import (
    CELLS_LEFT_TEXT,
    DEFAULT_IMAGE_BUDGET,
    MANY_CELLS_TEXT,
    NO_CELL_TEXT,
    Conversation,
    NestedCall,
    Step,
    image_for_model,
    observe_cell,
    outcome,
    task_message,
)
from spatialclaw.agent.trajectory import FORMAT, TrajectoryWriter

if TYPE_CHECKING:
    from spatialclaw.inputs.load import LoadedInput
    from spatialclaw.kernel.session import KernelSession

DEFAULT_MAX_STEPS = 12
DEFAULT_CELL_TIMEOUT_S = 120.0
DEFAULT_SHOW_FRAMES = 8
DEFAULT_MAX_SIDE = 768
INTERRUPTED_TEXT = "interrupted (Ctrl-C) before the model answered"

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
class AgentEvent:
    """Progress of a run, for a live display: ``kind`` is ``"model"`` (a request is about to go
    out), ``"cell"`` (``code`` is about to run) or ``"step"`` (``step`` is done)."""

    kind: Literal["model", "cell", "step"]
    index: int
    max_steps: int
    code: str | None = None
    step: Step | None = None


def key_frame_positions(n_frames: int, k: int) -> list[int]:
    """``k`` positions spread evenly over ``n_frames`` frames, first and last included."""
    if n_frames <= 0 or k <= 0:
        return []
    if k >= n_frames:
        return list(range(n_frames))
    if k == 1:
        return [n_frames // 2]
    return sorted({round(i * (n_frames - 1) / (k - 1)) for i in range(k)})


def _describe_source(loaded: LoadedInput | None) -> str:
    if loaded is None or loaded.kind == "none":
        return "no input (frames is empty)"
    if loaded.kind == "video":
        if loaded.source_fps:
            return f"a video of {loaded.source_frame_count / loaded.source_fps:.1f} s"
        return "a video"
    if loaded.kind == "rgbd":
        return "an RGB-D sequence (colour, depth and camera poses)"
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


class Agent:
    """Runs the write-a-cell / see-the-output loop with one VLM client.

    Args:
        client: the model (`spatialclaw.models.make_client`).
        max_steps: cells the model may run; then one last code-free turn asks for the answer.
        show_frames: key frames attached to the first user turn.
        max_side: long edge, in pixels, of every image sent (frames, cell images, nested calls).
        image_budget: images from cells kept in the prompt, newest first (older ones are elided).
        cell_timeout: seconds one cell may run.
        max_reply_tokens: reply length cap sent to the server; None sends none.
        locate_coords: how ``locate`` replies are read (`spatialclaw.agent.reply_parsing.parse_point`).
        on_event: called with an `AgentEvent` before each request, before each cell, after each step.
    """

    def __init__(
        self,
        client: VLMClient,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        show_frames: int = DEFAULT_SHOW_FRAMES,
        max_side: int = DEFAULT_MAX_SIDE,
        image_budget: int = DEFAULT_IMAGE_BUDGET,
        cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
        max_reply_tokens: int | None = None,
        locate_coords: Literal["auto", "pixel", "norm1000"] = "auto",
        on_event: Callable[[AgentEvent], None] | None = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.client = client
        self.max_steps = max_steps
        self.show_frames = show_frames
        self.max_side = max_side
        self.image_budget = image_budget
        self.cell_timeout = cell_timeout
        self.max_reply_tokens = max_reply_tokens
        self.locate_coords = locate_coords
        self.on_event = on_event
        self._nested: list[NestedCall] | None = None
        self._nested_failure: ModelError | None = None

    # ------------------------------------------------------------------------- nested calls

    def host_handlers(self) -> dict[str, Callable[[dict], Any]]:
        """Handlers for `KernelSession(host_handlers=...)`: ``ask_vlm`` and ``locate`` through this agent's client."""
        return {"ask_vlm": self.ask_vlm, "locate": self.locate}

    def ask_vlm(self, payload: dict) -> str:
        """``{"prompt": str, "images": [base64 PNG, ...]}`` → the model's reply text."""
        prompt = str(payload.get("prompt", ""))
        images = [Image.from_bytes(base64.b64decode(b), max_side=self.max_side) for b in payload.get("images") or []]
        call = self._nested_call("ask_vlm", prompt, [Message("user", [*images, prompt])])
        return call.reply

    def locate(self, payload: dict) -> list[float] | None:
        """``{"description": str, "image": base64 PNG}`` → ``[x, y]`` in pixels of that image, or None.

        The model sees the image with its long edge capped at ``max_side`` and is asked for
        pixel coordinates of what it sees (x right, y down, from the top-left corner); the point
        is scaled back to the original image. Replies in 0–1000 normalised coordinates or
        fractions are read as `parse_point` describes.
        """
        description = str(payload.get("description", ""))
        raw = base64.b64decode(payload["image"])
        image = Image.from_bytes(raw, max_side=self.max_side)
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(raw)) as pil:
            full_w, full_h = pil.size
        prompt = prompts.render("locate.md.j2", description=description, width=image.width, height=image.height)
        call = self._nested_call("locate", prompt, [Message("user", [image, prompt])])
        point = parse_point(call.reply, image.width, image.height, self.locate_coords)
        result = None if point is None else [point[0] * full_w / image.width, point[1] * full_h / image.height]
        call.result = result
        return result

    def _nested_call(self, method: str, prompt: str, messages: list[Message]) -> NestedCall:
        try:
            completion = self.client.complete(messages, max_tokens=self.max_reply_tokens)
        except ModelError as err:
            self._nested_failure = err
            raise
        call = NestedCall(method, prompt, completion.text, completion.usage, completion.duration_s)
        if self._nested is not None:
            self._nested.append(call)
        return call

    # ------------------------------------------------------------------------- the loop

    def run(
        self,
        source: KernelSession | LoadedInput | str | Path | None,
        question: str,
        options: list[str] | None = None,
        *,
        perception: str = "auto",
        frames: int | None = 32,
        fps: float | None = None,
        out: str | Path | None = None,
        sandbox: str = "auto",
    ) -> Result:
        """Answer ``question`` about ``source`` (a started `KernelSession`, a loaded input, or a path).

        A session passed in is used as is (start it with ``host_handlers=agent.host_handlers()``
        for ``ask_vlm``/``locate``); otherwise one is made here, started in the background while
        the first model request is out (the first reply never needs the kernel), and shut down
        at the end. The trajectory goes to ``out`` (default `default_run_dir`). Raises
        `ModelError` when the server fails for good, and lets Ctrl-C through; in both cases the
        trajectory so far is written first, with the reason under ``error``.
        """
        from concurrent.futures import ThreadPoolExecutor

        from spatialclaw.kernel.session import KernelSession

        out_dir = Path(out) if out is not None else default_run_dir(question)
        writer = TrajectoryWriter(out_dir)
        if isinstance(source, KernelSession):
            return self._run_in(source, question, options, writer, perception, lambda: None)
        session = KernelSession(
            source,
            question=question,
            options=options,
            frames=frames,
            fps=fps,
            perception=perception,
            sandbox=sandbox,
            cell_timeout=self.cell_timeout,
            host_handlers=self.host_handlers(),
        )
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-start") as pool:
            starting = pool.submit(session.start)
            try:
                return self._run_in(session, question, options, writer, perception, starting.result)
            finally:
                if starting.exception() is None:
                    session.shutdown()

    def _task_message(self, loaded: LoadedInput | None, question: str, options: list[str] | None, writer: TrajectoryWriter):
        frames = loaded.frames if loaded is not None else []
        positions = key_frame_positions(len(frames), self.show_frames)
        text = prompts.task_prompt(
            question=question, options=options, shown=positions, n_frames=len(frames), max_steps=self.max_steps
        )
        shown, records = [], []
        for pos in positions:
            frame = frames[pos]
            image = Image.from_array(frame.image, max_side=self.max_side)
            shown.append((pos, frame.index, frame.time, image))
            rel = writer.add_image(f"frame_{pos:03d}.jpg", image.data)
            records.append({"position": pos, "index": frame.index, "time": frame.time, "file": rel})
        return task_message(text, shown), text, records

    def _run_in(
        self,
        session: KernelSession,
        question: str,
        options: list[str] | None,
        writer: TrajectoryWriter,
        perception: str,
        wait_for_kernel: Callable[[], Any],
    ) -> Result:
        from spatialclaw.primitives import render_prompt_section

        started = time.perf_counter()
        loaded = getattr(session, "input", None)
        n_frames = len(loaded.frames) if loaded is not None else 0
        system = prompts.system_prompt(
            primitives=render_prompt_section(),
            max_steps=self.max_steps,
            n_frames=n_frames,
            source_description=_describe_source(loaded),
            has_options=bool(options),
        )
        task, task_text, frame_records = self._task_message(loaded, question, options, writer)
        conversation = Conversation(system, task)
        record: dict[str, Any] = {
            "format": FORMAT,
            "question": question,
            "options": list(options) if options else None,
            "input": {
                "kind": loaded.kind if loaded is not None else "none",
                "paths": [str(p) for p in loaded.paths] if loaded is not None else [],
                "frames": n_frames,
                "source_frame_count": loaded.source_frame_count if loaded is not None else 0,
                "source_fps": loaded.source_fps if loaded is not None else None,
            },
            "config": {
                "model": self.client.describe(),
                "perception": perception,
                "perception_info": getattr(session, "perception_info", {}),
                "sandbox": getattr(session, "sandbox_info", {}),
                "max_steps": self.max_steps,
                "show_frames": self.show_frames,
                "max_side": self.max_side,
                "image_budget": self.image_budget,
                "cell_timeout_s": self.cell_timeout,
            },
            "system_prompt": system,
            "task": {"text": task_text, "frames": frame_records},
        }
        writer.write_manifest(self._manifest(loaded, question, options, perception))

        def ready() -> None:
            wait_for_kernel()
            record["config"]["perception_info"] = session.perception_info
            record["config"]["sandbox"] = session.sandbox_info

        error: ModelError | KeyboardInterrupt | None = None
        try:
            for index in range(1, self.max_steps + 1):
                step = self._step(index, conversation, session, writer, ready)
                self._finish(step, conversation, writer, record)
                if step.answered:
                    break
            else:
                step = self._final_step(conversation, options)
                self._finish(step, conversation, writer, record)
        except (ModelError, KeyboardInterrupt) as err:
            error = err
        finally:
            self._nested = None
            self._nested_failure = None
        answer, answered, usage = outcome(conversation.steps)
        result = Result(
            answer=answer,
            answered=answered,
            steps=conversation.steps,
            usage=usage.to_dict(),
            trajectory_dir=writer.folder,
            perception=record["config"]["perception_info"],
            duration_s=time.perf_counter() - started,
        )
        writer.write_all(self._record(record, conversation.steps, result.duration_s, error))
        if error is not None:
            raise error
        return result

    def _manifest(self, loaded: LoadedInput | None, question: str, options: list[str] | None, perception: str) -> dict:
        from spatialclaw.config import cache_dir

        frames_file = loaded.frames_file if loaded is not None else None
        return {
            "frames_file": str(Path(frames_file).resolve()) if frames_file else None,
            "question": question,
            "options": list(options) if options else None,
            "source_kind": loaded.kind if loaded is not None else "none",
            "source_path": str(Path(loaded.paths[0]).resolve()) if loaded is not None and loaded.paths else None,
            "perception": perception,
            "cache_dir": str(cache_dir()),
        }

    def _record(
        self,
        record: dict[str, Any],
        steps: list[Step],
        duration_s: float | None,
        error: ModelError | KeyboardInterrupt | None,
    ) -> dict[str, Any]:
        """``trajectory.json``: the run's fixed part, the steps so far and the outcome."""
        answer, answered, usage = outcome(steps)
        return {
            **record,
            "steps": [s.to_record() for s in steps],
            "answer": answer,
            "answered": answered,
            "usage": usage.to_dict(),
            "duration_s": round(duration_s, 4) if duration_s is not None else None,
            "error": INTERRUPTED_TEXT if isinstance(error, KeyboardInterrupt) else (str(error) if error else None),
        }

    def _emit(self, event: AgentEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _request(self, step_index: int, messages: list[Message]):
        self._emit(AgentEvent("model", step_index, self.max_steps))
        return self.client.complete(messages, max_tokens=self.max_reply_tokens)

    def _step(
        self,
        index: int,
        conversation: Conversation,
        session: KernelSession,
        writer: TrajectoryWriter,
        ready: Callable[[], None],
    ) -> Step:
        start = time.perf_counter()
        messages = conversation.to_messages(self.image_budget)
        completion = self._request(index, messages)
        step = Step(index=index, kind="cell", reply=completion.text, usage=completion.usage, model_s=completion.duration_s)
        _note_request(step, messages, completion.request_bytes, conversation.images_elided(self.image_budget))
        cells = extract_cells(completion.text)
        left = self.max_steps - index
        if not cells:
            step.kind = "no_cell"
            step.observation = NO_CELL_TEXT + "\n\n" + CELLS_LEFT_TEXT.format(left=left, total=self.max_steps)
        elif len(cells) > 1:
            step.kind = "many_cells"
            step.observation = (
                MANY_CELLS_TEXT.format(n=len(cells)) + "\n\n" + CELLS_LEFT_TEXT.format(left=left, total=self.max_steps)
            )
        else:
            step.code = cells[0]
            wait_start = time.perf_counter()
            ready()
            step.kernel_wait_s = time.perf_counter() - wait_start
            self._emit(AgentEvent("cell", index, self.max_steps, code=step.code))
            self._nested = step.nested
            cell_start = time.perf_counter()
            result = session.execute(step.code, timeout=self.cell_timeout)
            step.cell_s = time.perf_counter() - cell_start
            self._nested = None
            if self._nested_failure is not None:
                failure, self._nested_failure = self._nested_failure, None
                step.result = result
                conversation.steps.append(step)
                raise failure
            step.result = result
            step.answered, step.answer = result.answered, result.answer
            step.observation = observe_cell(result, cells_left=left, total=self.max_steps)
            step.images = list(result.images)
            step.sent_images = [image_for_model(png, self.max_side) for png in result.images]
            step.image_files = [writer.add_image(f"step_{index:02d}_{k}.png", png) for k, png in enumerate(step.images, 1)]
        step.step_s = time.perf_counter() - start
        return step

    def _final_step(self, conversation: Conversation, options: list[str] | None) -> Step:
        start = time.perf_counter()
        index = self.max_steps + 1
        prompt = prompts.final_prompt(max_steps=self.max_steps, has_options=bool(options))
        messages = conversation.to_messages(self.image_budget) + [Message("user", [prompt])]
        completion = self._request(index, messages)
        answer, answered = parse_final_answer(completion.text, options)
        step = Step(
            index=index,
            kind="final",
            reply=completion.text,
            prompt=prompt,
            answer=answer,
            answered=answered,
            usage=completion.usage,
            model_s=completion.duration_s,
        )
        _note_request(step, messages, completion.request_bytes, conversation.images_elided(self.image_budget))
        step.step_s = time.perf_counter() - start
        return step

    def _finish(self, step: Step, conversation: Conversation, writer: TrajectoryWriter, record: dict[str, Any]) -> None:
        """Append the step, save the JSON so far (its time counts as the step's overhead), report it."""
        begin = time.perf_counter()
        conversation.steps.append(step)
        writer.write_json(self._record(record, conversation.steps, None, None))
        step.step_s += time.perf_counter() - begin
        self._emit(AgentEvent("step", step.index, self.max_steps, step=step))


def _note_request(step: Step, messages: list[Message], request_bytes: int, images_elided: int) -> None:
    step.request_bytes = request_bytes
    step.messages_sent = len(messages)
    step.images_sent = sum(len(m.images) for m in messages)
    step.images_elided = images_elided


def ask(
    input: str | Path | list[str | Path] | None,  # noqa: A002 - the API's word for it
    question: str,
    *,
    options: list[str] | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    perception: str = "auto",
    frames: int | None = 32,
    max_steps: int = DEFAULT_MAX_STEPS,
    timeout: float = DEFAULT_CELL_TIMEOUT_S,
    show_frames: int = DEFAULT_SHOW_FRAMES,
    out: str | Path | None = None,
    progress: bool = False,
    sandbox: str = "auto",
) -> Result:
    """Answer ``question`` about a video, image(s) or RGB-D folder with a VLM that writes code.

    Args:
        input: the video file, image file(s) or folder, or RGB-D folder; None for no input.
        question: the question.
        options: multiple-choice options (``["A. left", "B. right"]``); None for open answers.
        model: the served model name, or ``hf:PATH_OR_ID`` for a local transformers model
            (> ``$SPATIALCLAW_MODEL``).
        base_url: the OpenAI-compatible API root (> ``$OPENAI_BASE_URL``).
        api_key: (> ``$OPENAI_API_KEY``).
        perception: ``"auto"``, ``"gt"``, ``"learned"`` or ``"classical"``.
        frames: frames sampled from the input.
        max_steps: cells the model may run.
        timeout: seconds one cell may run.
        show_frames: key frames attached to the first message.
        out: trajectory folder (default ``runs/<time>-<question>``).
        progress: print live progress on the terminal.
        sandbox: isolation of the kernel: ``"auto"``, ``"bwrap"`` or ``"none"`` (see `spatialclaw.kernel.sandbox`).
    """
    from spatialclaw.models import make_client

    client = make_client(model, base_url=base_url, api_key=api_key)
    on_event = None
    if progress:
        from spatialclaw.agent.progress import ConsoleProgress

        on_event = ConsoleProgress()
    agent = Agent(client, max_steps=max_steps, show_frames=show_frames, cell_timeout=timeout, on_event=on_event)
    source: Any = input
    if isinstance(input, list):
        from spatialclaw.inputs.load import load_input

        source = load_input(input, frames=frames)
    return agent.run(source, question, options, perception=perception, frames=frames, out=out, sandbox=sandbox)
