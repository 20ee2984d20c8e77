"""`KernelSession`: a stateful IPython kernel preloaded with the input's frames and the primitives.

The session owns one ipykernel process of the same interpreter (started through jupyter_client,
IPC transport, in its own working directory, with an address-space limit). ``execute(code)``
runs one cell and returns a `CellResult`: its text in order, its images as PNG bytes, a clean
error, and whether ``answer(...)`` was called. What the code does wrong is data in the result,
never an exception: a cell past its time limit is interrupted (variables kept); a kernel that
died is restarted and preloaded again, and the result says the variables are gone.

    with KernelSession("room.mp4", question="How many chairs?") as session:
        result = session.execute("print(len(frames))")
        print(result.text)

Nothing here imports the agent: a session is useful on its own (``spatialclaw exec``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialclaw.kernel.bootstrap import ANSWER_MIME, HOST_CALL_PREFIX
from spatialclaw.config import NOT_GIVEN, NotGiven
from spatialclaw.errors import ConfigError, InputError, KernelError, PerceptionError

if TYPE_CHECKING:
    from spatialclaw.inputs.load import LoadedInput
    from spatialclaw.kernel.sandbox import SandboxPlan

# Errors the preload raises about the user's input or settings: re-raised on the host as they are.
_USER_ERRORS = {cls.__name__: cls for cls in (ConfigError, InputError, PerceptionError)}

# ----------------------------------------------------------------------------- message texts

CUT_MARKER = "\n[... {n} characters cut ...]\n"
TIMEOUT_TEXT = "The cell ran longer than {timeout:g} s and was interrupted; variables set before that are kept."
DIED_TEXT = (
    "The kernel died {when} ({cause}) and was restarted: all variables are gone. "
    "frames, question, options and the preloaded functions are loaded again."
)
STUCK_CAUSE = "it ignored the interrupt after the time limit, so it was killed"
BUDGET_TEXT = "{n} image(s) refused: the session's image budget of {budget} is spent"
UNSHOWN_TEXT = "an output of type {types} was not shown: only text/plain and image/png come back"
NO_HANDLER_TEXT = "no VLM configured for host_call({method!r}): start the session with host_handlers={{{method!r}: ...}}"
HANDLER_FAILED_TEXT = "host_call({method!r}) failed on the host: {error}"

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_SECRET_ENV = re.compile(r"(^OPENAI_|API_KEY$|TOKEN$|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)

POLL_S = 0.2  # how long to wait for a message before checking that the kernel is alive
INTERRUPT_GRACE_S = 5.0  # how long an interrupted cell may take to stop before the kernel is killed
START_TIMEOUT_S = 60.0  # kernel start + bootstrap (imports of the primitives included)


@dataclass
class CellError:
    """An exception raised by a cell (or the kernel dying / timing out under it).

    Attributes:
        ename: exception class name, e.g. ``"ZeroDivisionError"``.
        evalue: the exception message.
        traceback: the formatted traceback, without ANSI colour codes.
    """

    ename: str
    evalue: str
    traceback: str


@dataclass
class CellResult:
    """What one cell produced.

    Attributes:
        text: stdout, stderr, results and displayed text, in the order they came (long text cut
            in the middle with a ``[... N characters cut ...]`` marker).
        images: PNG bytes from matplotlib, ``show()`` and displayed images, in order.
        error: the cell's exception, or None.
        timed_out: the cell ran past its time limit and was interrupted.
        duration_s: wall-clock seconds from sending the cell to its last output.
        answer: the value passed to ``answer(...)`` (the last call's), or None.
        answered: ``answer(...)`` was called in this cell.
        restarted: the kernel died during or before this cell and was restarted (variables gone).
        notices: what the session itself has to say (refused images, outputs it cannot show).
    """

    text: str
    images: list[bytes]
    error: CellError | None
    timed_out: bool
    duration_s: float
    answer: Any | None = None
    answered: bool = False
    restarted: bool = False
    notices: list[str] = field(default_factory=list)


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves)."""
    return _ANSI.sub("", text)


def cut_middle(text: str, limit: int) -> str:
    """``text`` if at most ``limit`` characters, else its first and last halves around a marker."""
    if len(text) <= limit:
        return text
    head, tail = limit // 2, limit - limit // 2
    return text[:head] + CUT_MARKER.format(n=len(text) - head - tail) + text[len(text) - tail :]


class _CappedText:
    """Accumulates text but keeps only its first and last ``limit / 2`` characters in memory."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - limit // 2
        self.head = ""
        self.tail = ""
        self.total = 0

    def add(self, text: str) -> None:
        self.total += len(text)
        if len(self.head) < self.head_limit:
            room = self.head_limit - len(self.head)
            self.head += text[:room]
            text = text[room:]
        if text:
            self.tail += text
            if len(self.tail) > 4 * self.tail_limit + 4096:
                self.tail = self.tail[-self.tail_limit :]

    def value(self) -> str:
        if self.total <= self.head_limit + self.tail_limit:
            return self.head + self.tail
        tail = self.tail[-self.tail_limit :] if self.tail_limit else ""
        return self.head + CUT_MARKER.format(n=self.total - len(self.head) - len(tail)) + tail


class _KernelDied(Exception):
    """Internal: the kernel process is gone (or had to be killed) while a request was running."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.partial: _Collected | None = None  # what the request had produced before


@dataclass
class _Collected:
    text: _CappedText
    images: list[bytes] = field(default_factory=list)
    refused: int = 0
    error: CellError | None = None
    answer: Any | None = None
    answered: bool = False
    interrupted: bool = False
    unshown: list[str] = field(default_factory=list)
    user_expressions: dict = field(default_factory=dict)


class KernelSession:
    """A preloaded, stateful IPython kernel that runs model-written cells.

    Use as a context manager (or call `start` / `shutdown`). The input is loaded on the host
    (`spatialclaw.inputs.load_input`) and its frames are read by the kernel from the frames file.
    The kernel gets the host's environment minus anything that looks like a secret (``OPENAI_*``,
    ``*API_KEY``, ``*TOKEN``, ``*SECRET*``, ``*PASSWORD*``, ``*CREDENTIAL*``).

    Args:
        source: a loaded input, a path (or several image paths) for ``load_input``, or None for no
            input (empty ``frames``).
        question: preloaded as ``question``.
        options: preloaded as ``options`` (multiple-choice options, e.g. ``["A. left", "B. right"]``).
        frames: number of frames to sample when ``source`` is a path (uniformly); None for all;
            not given: as `spatialclaw.inputs.load.load_input`.
        fps: sample at this rate (frames per second of video) instead of a fixed count.
        perception: ``"auto"``, ``"gt"``, ``"learned"`` or ``"classical"``, passed to the primitives.
        cell_timeout: default time limit of one cell, seconds.
        memory_limit_mb: the kernel's address-space limit in MiB (``RLIMIT_AS``); None for none.
        image_budget: how many images the whole session may return; later ones are refused.
        max_output_chars: longest text a cell returns (longer text is cut in the middle).
        workdir: the kernel's working directory; a fresh temporary one (removed at shutdown) if None.
        host_handlers: ``{method: fn(payload) -> JSON-able}`` that answer the kernel's ``host_call``.
        launch_prefix: words put before the kernel's command line (inside the sandbox, if any);
            the limits are set inside, by ``spatialclaw.kernel.launcher``.
        sandbox: ``"auto"`` (bubblewrap where it works, else limits only, with one warning),
            ``"bwrap"`` or ``"none"``; see `spatialclaw.kernel.sandbox`. What was chosen is in ``sandbox_info``.
        start_timeout: seconds allowed for the kernel to start and run the bootstrap.
    """

    def __init__(
        self,
        source: LoadedInput | str | Path | Sequence[str | Path] | None = None,
        *,
        question: str | None = None,
        options: list[str] | None = None,
        frames: int | None | NotGiven = NOT_GIVEN,
        fps: float | None = None,
        perception: str = "auto",
        cell_timeout: float = 120.0,
        memory_limit_mb: int | None = 8192,
        image_budget: int = 50,
        max_output_chars: int = 20000,
        workdir: Path | None = None,
        host_handlers: dict[str, Callable[[dict], Any]] | None = None,
        launch_prefix: Sequence[str] = (),
        sandbox: str = "auto",
        start_timeout: float = START_TIMEOUT_S,
    ) -> None:
        from spatialclaw.inputs.load import LoadedInput, load_input

        self.input: LoadedInput | None = None
        if isinstance(source, LoadedInput):
            self.input = source
        elif source is not None:
            self.input = load_input(source, frames=frames, fps=fps)
        self.question = question
        self.options = options
        self.perception = perception
        self.cell_timeout = cell_timeout
        self.memory_limit_mb = memory_limit_mb
        self.image_budget = image_budget
        self.max_output_chars = max_output_chars
        self.host_handlers = dict(host_handlers or {})
        self.launch_prefix = list(launch_prefix)
        self.sandbox = sandbox
        self.sandbox_info: dict = {}
        self._sandbox_plan: SandboxPlan | None = None
        self.start_timeout = start_timeout
        self.perception_info: dict = {}
        self.frame_count = 0
        self.images_used = 0
        self._given_workdir = Path(workdir) if workdir is not None else None
        self.workdir: Path | None = None
        self._runtime: Path | None = None
        self._km: Any = None
        self._kc: Any = None
        self._poller: Any = None
        self._log: Any = None

    # ------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> KernelSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def describe_setup(self) -> str:
        """One short line: the perception backend of each family and the sandbox (reasons are in
        ``perception_info`` and ``sandbox_info``)."""
        backends = self.perception_info.get("backends") or {}
        parts = [f"{family}={c.get('backend', '?') if isinstance(c, dict) else c}" for family, c in backends.items()]
        perception = ", ".join(parts) or self.perception
        return f"perception: {perception}; sandbox: {self.sandbox_info.get('kind', 'none')}"

    @property
    def is_alive(self) -> bool:
        """The kernel process is running."""
        return self._km is not None and self._km.is_alive()

    def start(self) -> None:
        """Start the kernel and preload it. Raises `KernelError` if it cannot start."""
        if self._km is not None:
            return
        try:
            self._prepare_dirs()
            self._start_kernel()
            self._bootstrap()
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the kernel (and anything it spawned) and remove the session's temporary folders."""
        if self._kc is not None:
            self._kc.stop_channels()
            self._kc = None
        if self._km is not None:
            if self._km.has_kernel:
                self._km.shutdown_kernel(now=True)
            self._km = None
        self._poller = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None
        if self._sandbox_plan is not None:
            self._sandbox_plan.release()
            self._sandbox_plan = None
        if self.workdir is not None and self._given_workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None

    def restart(self) -> None:
        """Kill the kernel and start a fresh, preloaded one (all variables are lost)."""
        if self._km is None:
            self.start()
            return
        self._km.restart_kernel(now=True)
        self._drain()
        self._wait_ready()
        self._bootstrap()

    def _prepare_dirs(self) -> None:
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir.resolve()
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="spatialclaw-work-"))
        # A short private folder for the connection file, IPC sockets (path length is limited),
        # the kernelspec, the manifest and the kernel's log.
        self._runtime = Path(tempfile.mkdtemp(prefix="sck-"))
        self._plan_sandbox()
        self._write_kernelspec()
        self._write_manifest()

    def _write_kernelspec(self) -> None:
        assert self._runtime is not None
        assert self._sandbox_plan is not None
        argv = [*self._sandbox_plan.prefix, *self.launch_prefix, sys.executable, "-m", "spatialclaw.kernel.launcher"]
        argv += self._sandbox_plan.launcher_args
        if self.memory_limit_mb is not None:
            argv += ["--memory-mb", str(int(self.memory_limit_mb))]
        argv += ["--", "-f", "{connection_file}"]
        spec_dir = self._runtime / "kernels" / "spatialclaw"
        spec_dir.mkdir(parents=True)
        spec = {"argv": argv, "display_name": "SpatialClaw", "language": "python", "interrupt_mode": "message"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))

    def _write_manifest(self) -> None:
        assert self._runtime is not None
        frames_file = None
        source_kind, source_path = "none", None
        if self.input is not None:
            source_kind = self.input.kind
            source_path = str(Path(self.input.paths[0]).resolve()) if self.input.paths else None
            frames_file = self.input.frames_file
            if frames_file is None and self.input.frames:
                from spatialclaw.inputs.load import save_frames

                frames_file = self._runtime / "frames.npz"
                save_frames(frames_file, self.input.frames)
        from spatialclaw.config import cache_dir

        manifest = {
            "frames_file": str(frames_file) if frames_file else None,
            "question": self.question,
            "options": self.options,
            "source_kind": source_kind,
            "source_path": source_path,
            "inputs": [part.to_dict() for part in self.input.inputs] if self.input is not None else [],
            "perception": self.perception,
            "cache_dir": str(cache_dir()),
        }
        (self._runtime / "manifest.json").write_text(json.dumps(manifest))

    def _plan_sandbox(self) -> None:
        """Decide how the kernel is isolated: what it may read and write, its environment, its limits."""
        from spatialclaw.config import cache_dir
        from spatialclaw.kernel.sandbox import plan_sandbox

        assert self.workdir is not None and self._runtime is not None
        readable = [*self.input.paths, self.input.frames_file] if self.input is not None else []
        self._sandbox_plan = plan_sandbox(
            self.sandbox, workdir=self.workdir, runtime_dir=self._runtime, cache_dir=cache_dir(),
            read_only_paths=[p for p in readable if p is not None], env=self._kernel_env(),
        )
        self.sandbox_info = self._sandbox_plan.info()

    def _kernel_env(self) -> dict[str, str]:
        """The host's environment without secrets (API keys, tokens), with figures sent inline."""
        env = {k: v for k, v in os.environ.items() if not _SECRET_ENV.search(k)}
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        return env

    def _start_kernel(self) -> None:
        import zmq
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        assert self._runtime is not None
        specs = KernelSpecManager(kernel_dirs=[str(self._runtime / "kernels")])
        self._km = KernelManager(
            kernel_name="spatialclaw",
            kernel_spec_manager=specs,
            transport="ipc",
            ip=str(self._runtime / "ipc"),
            connection_file=str(self._runtime / "connection.json"),
        )
        self._log = open(self._runtime / "kernel.log", "ab")  # noqa: SIM115 (closed in shutdown)
        assert self._sandbox_plan is not None
        self._km.start_kernel(cwd=str(self.workdir), env=self._sandbox_plan.env, stdout=self._log, stderr=self._log)
        self._kc = self._km.client()
        self._kc.allow_stdin = True
        self._kc.start_channels(hb=False)
        self._poller = zmq.Poller()
        for channel in (self._kc.shell_channel, self._kc.iopub_channel, self._kc.stdin_channel):
            self._poller.register(channel.socket, zmq.POLLIN)
        self._wait_ready()

    def _wait_ready(self) -> None:
        try:
            self._kc.wait_for_ready(timeout=self.start_timeout)
        except RuntimeError as err:
            raise KernelError(f"the IPython kernel did not start ({err}); {self._log_hint()}") from None

    def _log_hint(self) -> str:
        log = (self._runtime / "kernel.log") if self._runtime else None
        lines = log.read_text(errors="replace").strip().splitlines() if log and log.exists() else []
        return f"its last words: {lines[-1]}" if lines else "check that ipykernel is installed in this Python"

    def _bootstrap(self) -> None:
        assert self._runtime is not None
        manifest = str(self._runtime / "manifest.json")
        code = f"__import__('spatialclaw.kernel.bootstrap').kernel.bootstrap.run({manifest!r})"
        report = "__import__('spatialclaw.kernel.bootstrap').kernel.bootstrap.report()"
        try:
            got = self._request(
                code, self.start_timeout, store_history=False, user_expressions={"report": report}
            )
        except _KernelDied as died:
            raise KernelError(f"the IPython kernel died while loading the input and primitives ({died.cause})") from None
        if got.error is not None:
            if got.error.ename in _USER_ERRORS:  # a complete one-line message about the input or a setting
                raise _USER_ERRORS[got.error.ename](" ".join(str(got.error.evalue).split())[:2000])
            frames = re.findall(r'File "?([^",\n]+)"?, line (\d+)', got.error.traceback)
            where = f" (at {Path(frames[-1][0]).name}:{frames[-1][1]})" if frames else ""
            raise KernelError(
                f"the kernel could not preload the input and primitives: {got.error.ename}: {got.error.evalue}{where}"
            )
        status = got.user_expressions.get("report", {})
        info = json.loads(_literal(status.get("data", {}).get("text/plain", "'{}'")))
        self.frame_count = int(info.get("frames", 0))
        self.perception_info = info.get("perception", {})

    # ------------------------------------------------------------------------- running cells

    def execute(self, code: str, timeout: float | None = None) -> CellResult:
        """Run one cell; its outputs, errors and answer come back as data in a `CellResult`.

        Args:
            code: Python source of the cell.
            timeout: seconds before the cell is interrupted; the session's ``cell_timeout`` if None.
        """
        if self._km is None:
            raise KernelError("the kernel session is not started: use `with KernelSession(...) as s:` or call start()")
        limit = self.cell_timeout if timeout is None else timeout
        notices: list[str] = []
        restarted = False
        if not self._km.is_alive():
            cause = self._exit_cause()
            self.restart()
            restarted = True
            notices.append(DIED_TEXT.format(when="before this cell", cause=cause))
        start = time.monotonic()
        try:
            got = self._request(code, limit)
            duration = time.monotonic() - start
            error = got.error
            if got.interrupted:
                error = CellError("TimeoutError", TIMEOUT_TEXT.format(timeout=limit), error.traceback if error else "")
        except _KernelDied as died:
            duration = time.monotonic() - start
            self.restart()
            assert died.partial is not None
            got = died.partial
            error = CellError("KernelDied", DIED_TEXT.format(when="while running this cell", cause=died.cause), "")
            restarted = True
        if got.refused:
            notices.append(BUDGET_TEXT.format(n=got.refused, budget=self.image_budget))
        notices += [UNSHOWN_TEXT.format(types=t) for t in got.unshown]
        return CellResult(
            text=got.text.value(),
            images=got.images,
            error=error,
            timed_out=got.interrupted,
            duration_s=duration,
            answer=got.answer,
            answered=got.answered,
            restarted=restarted,
            notices=notices,
        )

    def _request(
        self,
        code: str,
        timeout: float,
        *,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
    ) -> _Collected:
        """Send one execute_request and collect everything it causes until reply + idle."""
        kc = self._kc
        got = _Collected(text=_CappedText(self.max_output_chars))
        msg_id = kc.execute(
            code, store_history=store_history, user_expressions=user_expressions, allow_stdin=True, stop_on_error=False
        )
        sockets = {kc.shell_channel.socket: "shell", kc.iopub_channel.socket: "iopub", kc.stdin_channel.socket: "stdin"}
        deadline = time.monotonic() + timeout
        reply: dict | None = None
        idle = False
        next_alive_check = time.monotonic() + POLL_S
        try:
            while reply is None or not idle:
                now = time.monotonic()
                if now >= deadline:
                    if got.interrupted:
                        self._km.signal_kernel(signal.SIGKILL)
                        raise _KernelDied(STUCK_CAUSE)
                    self._km.interrupt_kernel()
                    got.interrupted = True
                    deadline = now + INTERRUPT_GRACE_S
                ready = dict(self._poller.poll(1000 * max(0.0, min(POLL_S, deadline - now))))
                if not ready or now >= next_alive_check:
                    if not self._km.is_alive():
                        raise _KernelDied(self._exit_cause())
                    next_alive_check = time.monotonic() + POLL_S
                for socket in ready:
                    channel = sockets[socket]
                    if channel == "iopub":
                        while kc.iopub_channel.msg_ready():
                            msg = kc.iopub_channel.get_msg(timeout=0)
                            if msg["parent_header"].get("msg_id") == msg_id:
                                idle = self._on_iopub(msg, got) or idle
                    elif channel == "shell":
                        while kc.shell_channel.msg_ready():
                            msg = kc.shell_channel.get_msg(timeout=0)
                            if msg["parent_header"].get("msg_id") == msg_id:
                                reply = msg
                    else:
                        while kc.stdin_channel.msg_ready():
                            msg = kc.stdin_channel.get_msg(timeout=0)
                            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "input_request":
                                kc.input(self._answer_input(msg["content"].get("prompt", "")))
        except _KernelDied as died:
            died.partial = got
            raise
        content = reply["content"]
        if content.get("status") == "error" and got.error is None:
            got.error = self._error(content)
        got.user_expressions = content.get("user_expressions", {}) or {}
        return got

    def _on_iopub(self, msg: dict, got: _Collected) -> bool:
        """Fold one iopub message into ``got``; True when it is the kernel's 'idle'."""
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind == "stream":
            got.text.add(content.get("text", ""))
        elif kind in ("execute_result", "display_data", "update_display_data"):
            self._on_display(content.get("data", {}), got, is_result=kind == "execute_result")
        elif kind == "error":
            got.error = self._error(content)
        return False

    def _on_display(self, data: dict, got: _Collected, *, is_result: bool) -> None:
        if ANSWER_MIME in data:
            got.answer = data[ANSWER_MIME].get("value")
            got.answered = True
            return
        if "image/png" in data:
            if self.images_used < self.image_budget:
                got.images.append(base64.b64decode(data["image/png"]))
                self.images_used += 1
            else:
                got.refused += 1
            if is_result and "text/plain" in data:
                got.text.add(data["text/plain"].rstrip("\n") + "\n")
        elif "text/plain" in data:
            got.text.add(data["text/plain"].rstrip("\n") + "\n")
        elif data:
            got.unshown.append(", ".join(sorted(data)))

    def _error(self, content: dict) -> CellError:
        traceback = strip_ansi("\n".join(content.get("traceback", [])))
        return CellError(
            ename=content.get("ename", "Error"),
            evalue=strip_ansi(content.get("evalue", "")),
            traceback=cut_middle(traceback, self.max_output_chars),
        )

    def _answer_input(self, prompt: str) -> str:
        """The reply to a kernel input_request: a host_call's JSON result, or EOF for anything else."""
        if not prompt.startswith(HOST_CALL_PREFIX):
            return "\x04"
        request = json.loads(prompt[len(HOST_CALL_PREFIX) :])
        method = request.get("method", "")
        handler = self.host_handlers.get(method)
        if handler is None:
            return json.dumps({"error": NO_HANDLER_TEXT.format(method=method)})
        try:
            return json.dumps({"result": handler(request.get("payload", {}))})
        except Exception as err:  # the handler's failure goes back to the cell, not up the host
            return json.dumps({"error": HANDLER_FAILED_TEXT.format(method=method, error=f"{type(err).__name__}: {err}")})

    def _exit_cause(self) -> str:
        process = getattr(getattr(self._km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "exit status unknown"
        if code > 128 and self.sandbox_info.get("kind") == "bwrap":
            code = 128 - code  # bubblewrap exits with 128 + the signal that killed the kernel
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            hint = ", often the system running out of memory" if -code == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exit code {code}"

    def _drain(self) -> None:
        """Drop messages left over from a dead kernel."""
        for channel in (self._kc.shell_channel, self._kc.iopub_channel, self._kc.stdin_channel):
            while channel.msg_ready():
                channel.get_msg(timeout=0)


def _literal(text: str) -> str:
    """The str that a ``repr(str)`` (an IPython text/plain of a string) stands for."""
    import ast

    value = ast.literal_eval(text)
    return value if isinstance(value, str) else "{}"
