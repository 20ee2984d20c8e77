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

import json
import re
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spatialclaw.config import NOT_GIVEN, NotGiven
from spatialclaw.errors import (
    BUDGET_TEXT,
    DIED_TEXT,
    DISK_CAUSE,
    LOST_IDLE_TEXT,
    MEMORY_CAUSE,
    NOT_RESTARTED_TEXT,
    STUCK_CAUSE,
    TIMEOUT_TEXT,
    KernelError,
    refusal_from_report,
)
from spatialclaw.kernel import workspace
from spatialclaw.kernel.messages import (
    MALFORMED_TEXT,
    CappedText,
    CellCollector,
    CellError,
    ImageBudget,
    cut_middle,
    host_call_reply,
    parent_id,
    strip_ansi,
)

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.perception_service.client import ServiceClient
    from spatialclaw.kernel.sandbox import SandboxPlan

# Errors the preload raises about the user's input or settings: re-raised on the host as they are.
__all__ = ["CellError", "CellResult", "KernelSession", "cut_middle", "strip_ansi"]

IDLE_GRACE_S = 3.0  # how long after the reply, with no output coming, the host waits for a lost 'idle'
POLL_S = 0.2  # how long to wait for a message before checking that the kernel is alive
DISK_CHECK_S = 1.0  # how often the disk budget is checked while a cell runs
INTERRUPT_GRACE_S = 5.0  # how long an interrupted cell may take to stop before the kernel is killed
START_TIMEOUT_S = 60.0  # kernel start + bootstrap (imports of the primitives included)
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # largest Jupyter message frame the host accepts from the kernel
REPORT_EXPRESSION = "__import__('spatialclaw.kernel.bootstrap').kernel.bootstrap.report()"
MAX_REPORT_CHARS = 1 << 20  # longest set-up report (a user expression) the host parses
MAX_MODELS_REPORT = 4096  # characters of the kernel's report of loaded models that the host keeps


@dataclass
class CellResult:
    """What one cell produced.

    Attributes:
        text: stdout, stderr, results and displayed text, in the order they came (long text cut
            in the middle with a ``[... N characters cut ...]`` marker).
        images: PNG or JPEG bytes from matplotlib, ``show()`` (photo-like pictures as JPEG) and
            displayed images, in order (each one's structure checked: a PNG or JPEG within the
            pixel and byte limits of `spatialclaw.images`).
        error: the cell's exception, or None.
        timed_out: the cell ran past its time limit and was interrupted.
        duration_s: wall-clock seconds from sending the cell to its last output.
        answer: the value passed to ``answer(...)`` (the last call's), or None.
        answered: ``answer(...)`` was called in this cell.
        restarted: the kernel died during or before this cell and was restarted (variables gone).
        notices: what the session itself has to say (refused images, malformed messages, outputs
            it cannot show).
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


class _KernelDied(Exception):
    """Internal: the kernel process is gone (or had to be killed) while a request was running."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.partial: CellCollector | None = None  # what the request had produced before


class KernelSession:
    """A preloaded, stateful IPython kernel that runs model-written cells.

    Use as a context manager (or call `start` / `shutdown`). The input is loaded on the host
    (`spatialclaw.inputs.load_input`) and its frames are read by the kernel from the frames file.
    The kernel's environment is built from an allowlist (`spatialclaw.kernel.environment`):
    no credentials, no host settings.

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
        memory_limit_mb: memory of the kernel and everything it starts, MiB (a memory cgroup where
            the machine allows, and ``RLIMIT_AS`` per process); None for none.
        image_budget: how many images the whole session may return; later ones are refused.
        image_bytes_budget: how many bytes of PNG the whole session may return.
        disk_budget_mb: what the working folder and the session's cache may hold together, MiB;
            past it the kernel is stopped, those files removed, and the kernel restarted.
        max_output_chars: longest text a cell returns (longer text is cut in the middle).
        workdir: the kernel's working directory; a fresh temporary one (removed at shutdown) if None.
        host_handlers: ``{method: fn(payload) -> JSON-able}`` that answer the kernel's ``host_call``.
        launch_prefix: words put before the kernel's command line (inside the sandbox, if any);
            the limits are set inside, by ``spatialclaw.kernel.launcher``.
        sandbox: ``"auto"`` (bubblewrap where it works, else NOT isolated, with a loud warning),
            ``"bwrap"`` or ``"none"``; see `spatialclaw.kernel.sandbox`. What was chosen is in ``sandbox_info``.
        start_timeout: seconds allowed for the kernel to start and run the bootstrap.
        perception_service: where the kernel's perception requests go
            (`spatialclaw.perception_service`): the only writer of the shared perception cache.
            None: the kernel computes everything itself, in its session layer, never shared.
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
        image_bytes_budget: int = 64 * 1024 * 1024,
        disk_budget_mb: int = 4096,
        max_output_chars: int = 20000,
        workdir: Path | None = None,
        host_handlers: dict[str, Callable[[dict], Any]] | None = None,
        launch_prefix: Sequence[str] = (),
        sandbox: str = "auto",
        start_timeout: float = START_TIMEOUT_S,
        perception_service: ServiceClient | None = None,
    ) -> None:
        from spatialclaw.inputs.frame import LoadedInput
        from spatialclaw.inputs.load import load_input

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
        self.image_bytes_budget = image_bytes_budget
        self.disk_budget_mb = disk_budget_mb
        self.max_output_chars = max_output_chars
        self.host_handlers = dict(host_handlers or {})
        self.perception_service = perception_service
        if perception_service is not None:
            self.host_handlers["perception"] = self._relay_perception
        self.launch_prefix = list(launch_prefix)
        self.sandbox = sandbox
        self.sandbox_info: dict = {}
        self._sandbox_plan: SandboxPlan | None = None
        self.start_timeout = start_timeout
        self.perception_info: dict = {}
        self.frame_count = 0
        self._budget = ImageBudget(image_budget, image_bytes_budget)
        self._given_workdir = Path(workdir) if workdir is not None else None
        self._given_owner: tuple[int, int, int] | None = None
        self.workdir: Path | None = None
        self._runtime: Path | None = None
        self._frames_file: Path | None = None
        self._frames_stat: tuple[int, int, int] | None = None
        self._connection_bytes = b""
        self._km: Any = None
        self._kc: Any = None
        self._poller: Any = None
        self._log: workspace.LogTail | None = None
        self._zmq_context: Any = None

    @property
    def images_used(self) -> int:
        """Images returned so far in this session (what the image budget counts)."""
        return self._budget.used_images

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
        """Stop the kernel and everything it started, keep its valid perception results, and
        remove the session's temporary folders. Every step runs even if an earlier one failed."""
        for step in (self._stop_kernel, self._release_sandbox, self._close_channels, self._remove_folders):
            try:
                step()
            except Exception:  # noqa: BLE001 - cleanup goes on; what failed is already gone or unreachable
                continue

    def _stop_kernel(self) -> None:
        if self._kc is not None:
            kc, self._kc = self._kc, None
            kc.stop_channels()
        if self._km is not None:
            km = self._km
            self._stop_descendants()
            self._km = None
            if km.has_kernel:
                km.shutdown_kernel(now=True)

    def _release_sandbox(self) -> None:
        if self._sandbox_plan is not None:
            plan, self._sandbox_plan = self._sandbox_plan, None
            plan.release()

    def _close_channels(self) -> None:
        self._poller = None
        if self._log is not None:
            log, self._log = self._log, None
            log.close()
        if self._zmq_context is not None:
            context, self._zmq_context = self._zmq_context, None
            context.destroy(linger=0)

    def _remove_folders(self) -> None:
        if self._runtime is not None:
            runtime, self._runtime = self._runtime, None
            shutil.rmtree(runtime, ignore_errors=True)  # the session layer too: never shared
        workdir, self.workdir = self.workdir, None
        if workdir is not None and self._given_workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir is not None and self._given_owner is not None:
            uid, gid, mode = self._given_owner
            workspace.chown_tree(workdir, uid, gid, only_owned_by=self.sandbox_info.get("uid"))
            os.chmod(workdir, mode)

    def restart(self) -> None:
        """Kill the kernel (and what it started) and start a fresh, preloaded one (variables lost).

        The frames file and the manifest are checked and written again if the kernel changed
        them, and the connection file always is. Raises `KernelError` if the new kernel cannot start or preload.
        """
        if self._km is None:
            self.start()
            return
        self._stop_descendants()
        if self._sandbox_plan is not None:
            self._sandbox_plan.reap()
        self._restore_inputs()
        self._place_connection_file()
        self._km.restart_kernel(now=True)
        self._connect()
        self._wait_ready()
        self._bootstrap()

    def _stop_descendants(self) -> None:
        """SIGKILL every process the kernel started (they are its descendants: it is a subreaper)."""
        from spatialclaw.kernel.cgroups import descendants

        pid = self._kernel_pid()
        if pid is None:
            return
        for child in reversed(descendants(pid)):
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass

    def _kernel_pid(self) -> int | None:
        """The kernel process's pid while it runs; None once it exited (its pid may be reused)."""
        process = getattr(getattr(self._km, "provisioner", None), "process", None)
        if process is None or process.poll() is not None:
            return None
        return process.pid

    # ------------------------------------------------------------------------- folders

    def _prepare_dirs(self) -> None:
        from spatialclaw.config import cache_dir

        self._runtime = workspace.make_private_folder("sck-")
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir.resolve()
            info = self.workdir.stat()
            self._given_owner = (info.st_uid, info.st_gid, info.st_mode & 0o7777)
        else:
            self.workdir = workspace.make_private_folder("spatialclaw-work-")
        for name in ("sockets", "perception", "config/tmp", "kernels/spatialclaw"):
            (self._runtime / name).mkdir(parents=True)
        shared = cache_dir() / "perception"
        shared.mkdir(parents=True, exist_ok=True)
        self._frames_file = self._place_frames()
        self._plan_sandbox(shared)
        self._write_kernelspec()
        self._write_manifest()

    def _place_frames(self) -> Path | None:
        """The session's own frames file (``runtime/frames.npz``, host-owned, read-only to the kernel):
        a hard link to the input's cached file when it is on the same file system, else a copy."""
        if self.input is None or not self.input.frames:
            return None
        assert self._runtime is not None
        path = self._runtime / "frames.npz"
        cached = Path(self.input.frames_file) if self.input.frames_file is not None else None
        try:
            if cached is None or cached.is_symlink() or not cached.is_file():
                raise OSError("no cached frames file")
            os.link(cached, path)
            os.chmod(path, 0o644)
        except OSError:
            path.unlink(missing_ok=True)
            self._write_frames(path)
        info = path.stat()
        self._frames_stat = (info.st_size, info.st_mtime_ns, info.st_ino)
        return path

    def _write_frames(self, path: Path) -> None:
        from spatialclaw.inputs.frame_cache import save_frames

        assert self.input is not None
        save_frames(path, self.input.frames)
        os.chmod(path, 0o644)

    def _restore_inputs(self) -> None:
        """Before a restart: write the frames file and manifest again if the kernel could have changed them."""
        path = self._frames_file
        if path is None or self._runtime is None:
            return
        try:
            info = path.stat()
            same = (info.st_size, info.st_mtime_ns, info.st_ino) == self._frames_stat
        except OSError:
            same = False
        if not same or self.sandbox_info.get("kind") != "bwrap":
            tmp = path.with_name("frames.tmp.npz")
            self._write_frames(tmp)
            os.replace(tmp, path)
            info = path.stat()
            self._frames_stat = (info.st_size, info.st_mtime_ns, info.st_ino)
        self._write_manifest()

    def _place_connection_file(self) -> None:
        """Write the connection file as the host made it (at start, and before a restart: a kernel that
        could write it would start the next one with its own key or sockets). Host-owned; readable by
        the kernel's group only where it runs as its own uid."""
        assert self._runtime is not None and self._sandbox_plan is not None
        path, tmp = self._runtime / "connection.json", self._runtime / ".connection.json.tmp"
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self._connection_bytes)
            if self._sandbox_plan.uid is not None:
                os.fchown(f.fileno(), os.geteuid(), self._sandbox_plan.uid)
                os.fchmod(f.fileno(), 0o440)
        os.replace(tmp, path)

    def _plan_sandbox(self, shared_cache: Path) -> None:
        """Decide how the kernel is isolated: what it may read and write, its environment, its limits."""
        from spatialclaw.kernel.sandbox import SessionFolders, plan_sandbox

        assert self.workdir is not None and self._runtime is not None
        inputs = [self._runtime, *(self.input.paths if self.input is not None else [])]
        folders = SessionFolders(
            workdir=self.workdir, sockets=self._runtime / "sockets", runtime=self._runtime,
            shared_cache=shared_cache, cache_layer=self._runtime / "perception",
            config=self._runtime / "config", inputs=inputs,
        )
        self._sandbox_plan = plan_sandbox(self.sandbox, folders, memory_mb=self.memory_limit_mb)
        self.sandbox_info = self._sandbox_plan.info()
        uid = self._sandbox_plan.uid
        if uid is not None:
            for folder in (self.workdir, folders.sockets, folders.cache_layer, folders.config):
                workspace.chown_tree(folder, uid, uid)
            os.chmod(self.workdir, 0o700)

    def _write_kernelspec(self) -> None:
        assert self._runtime is not None and self._sandbox_plan is not None
        argv = [*self._sandbox_plan.prefix, *self.launch_prefix, sys.executable, "-P", "-m", "spatialclaw.kernel.launcher"]
        argv += self._sandbox_plan.launcher_args
        argv += ["--", "-f", "{connection_file}"]
        spec = {"argv": argv, "display_name": "SpatialClaw", "language": "python", "interrupt_mode": "message"}
        (self._runtime / "kernels" / "spatialclaw" / "kernel.json").write_text(json.dumps(spec))

    def _kernel_path(self, path: Path) -> str:
        """Where the kernel reads an input: its session copy where it has one at another path."""
        copies = self._sandbox_plan.kernel_paths if self._sandbox_plan is not None else {}
        return copies.get(os.path.abspath(path)) or str(Path(path).resolve())

    def _source(self, where: Callable[[Path], str]) -> dict[str, Any]:
        """``source_kind``, ``source_path`` and ``source_files`` of the input, paths as ``where`` gives
        them (the kernel's view for the manifest, the host's for the perception service)."""
        source_kind, source_path, source_files = "none", None, []
        if self.input is not None:
            source_kind = self.input.kind
            source_path = where(self.input.paths[0]) if self.input.paths else None
            if source_kind == "images" and not self.input.parts:  # one image sequence (a folder)
                source_files = [where(p) for p in self.input.paths]
        return {"source_kind": source_kind, "source_path": source_path, "source_files": source_files}

    def _write_manifest(self) -> None:
        assert self._runtime is not None
        from spatialclaw.config import cache_dir

        manifest = {
            "frames_file": str(self._frames_file) if self._frames_file else None,
            "question": self.question,
            "options": self.options,
            **self._source(self._kernel_path),
            "inputs": [part.to_dict() for part in self.input.inputs] if self.input is not None else [],
            "perception": self.perception,
            "cache_dir": (self._sandbox_plan.kernel_cache if self._sandbox_plan else None) or str(cache_dir()),
            "cache_layer": str(self._runtime / "perception"),
            "perception_service": self.perception_service is not None,
        }
        workspace.write_host_file(self._runtime, "manifest.json", json.dumps(manifest).encode())

    def _relay_perception(self, payload: dict) -> dict:
        """``host_call("perception")``: the kernel's request, checked, relayed to the service with this
        session's frames file and source (`spatialclaw.perception_service.relay`)."""
        from spatialclaw.perception_service.relay import relay

        assert self.perception_service is not None
        count = len(self.input.frames) if self.input is not None else 0
        inputs = {"frames_file": str(self._frames_file) if self._frames_file else None,
                  **self._source(lambda path: str(Path(path).resolve()))}
        return relay(self.perception_service, payload, count, inputs, timeout_s=self.cell_timeout)

    # ------------------------------------------------------------------------- the kernel process

    def _start_kernel(self) -> None:
        import zmq
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        assert self._runtime is not None and self._sandbox_plan is not None
        specs = KernelSpecManager(kernel_dirs=[str(self._runtime / "kernels")])
        self._km = KernelManager(
            kernel_name="spatialclaw",
            kernel_spec_manager=specs,
            transport="ipc",
            ip=str(self._runtime / "sockets" / "k"),
            connection_file=str(self._runtime / "connection.json"),
        )
        self._km.write_connection_file()
        self._connection_bytes = (self._runtime / "connection.json").read_bytes()
        self._place_connection_file()
        self._log = workspace.LogTail()
        fd = self._log.write_fd
        self._km.start_kernel(cwd=str(self.workdir), env=self._sandbox_plan.env, stdout=fd, stderr=fd)
        self._zmq_context = zmq.Context()
        self._zmq_context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # a bigger frame drops the connection
        self._connect()
        self._wait_ready()

    def _connect(self) -> None:
        """Fresh client channels to the kernel (after a restart too: a dropped connection stays dropped)."""
        import zmq

        if self._kc is not None:
            self._kc.stop_channels()
        self._kc = self._km.client(context=self._zmq_context)
        self._kc.allow_stdin = True
        self._kc.start_channels(hb=False)
        self._poller = zmq.Poller()
        for channel in (self._kc.shell_channel, self._kc.iopub_channel, self._kc.stdin_channel):
            self._poller.register(channel.socket, zmq.POLLIN)

    def _wait_ready(self) -> None:
        try:
            self._kc.wait_for_ready(timeout=self.start_timeout)
        except RuntimeError as err:
            raise KernelError.did_not_start(err, self._log_hint()) from None

    def _log_hint(self) -> str:
        """The last line the kernel wrote to its stdout/stderr (printable characters only)."""
        tail = self._log.text() if self._log is not None else ""
        lines = [line for line in tail.strip().splitlines() if line.strip()]
        last = "".join(c for c in lines[-1] if c.isprintable())[:300] if lines else ""
        return f"its last words: {last}" if last else "check that ipykernel is installed in this Python"

    def _bootstrap(self) -> None:
        assert self._runtime is not None
        manifest = str(self._runtime / "manifest.json")
        code = f"__import__('spatialclaw.kernel.bootstrap').kernel.bootstrap.run({manifest!r})"
        try:
            got = self._request(
                code, self.start_timeout, store_history=False, user_expressions={"report": REPORT_EXPRESSION}
            )
        except _KernelDied as died:
            raise KernelError.died_preloading(died.cause) from None
        if got.error is not None:
            frames = re.findall(r'File "?([^",\n]+)"?, line (\d+)', got.error.traceback)
            where = f" (at {Path(frames[-1][0]).name}:{frames[-1][1]})" if frames else ""
            raise KernelError.preload_failed(got.error.ename, got.error.evalue, where)
        info = _report(got.user_expressions.get("report"))
        refusal = refusal_from_report(info.get("refused"))
        if refusal is not None:  # a complete one-line message about the input, a setting or the backend
            raise refusal
        self.frame_count = int(info.get("frames", 0)) if isinstance(info.get("frames", 0), int) else 0
        self.perception_info = info.get("perception", {}) if isinstance(info.get("perception"), dict) else {}

    # ------------------------------------------------------------------------- running cells

    def execute(self, code: str, timeout: float | None = None) -> CellResult:
        """Run one cell; its outputs, errors and answer come back as data in a `CellResult`.

        Nothing the kernel sends makes this raise: malformed messages become notices, a dead
        kernel is restarted (and if that fails, the result says so and the next cell tries again).

        Args:
            code: Python source of the cell.
            timeout: seconds before the cell is interrupted; the session's ``cell_timeout`` if None.
        """
        if self._km is None:
            raise KernelError.not_started()
        limit = self.cell_timeout if timeout is None else timeout
        notices: list[str] = []
        restarted = False
        try:
            self._check_budgets()  # processes left running between cells may have written meanwhile
        except _KernelDied as died:
            notices.append(DIED_TEXT.format(when="before this cell", cause=died.cause))
        if not self._km.is_alive():
            cause = self._exit_cause()
            failed = self._try_restart()
            if failed is not None:
                return self._not_restarted("before this cell", cause, failed)
            restarted = True
            if not notices:
                notices.append(DIED_TEXT.format(when="before this cell", cause=cause))
        start = time.monotonic()
        try:
            got = self._request(code, limit, user_expressions={"report": REPORT_EXPRESSION})
            self._note_models(got.user_expressions.get("report"))
            duration = time.monotonic() - start
            error = got.error
            if got.interrupted:
                error = CellError("TimeoutError", TIMEOUT_TEXT.format(timeout=limit), error.traceback if error else "")
        except _KernelDied as died:
            duration = time.monotonic() - start
            assert died.partial is not None
            got = died.partial
            failed = self._try_restart()
            if failed is not None:
                return self._not_restarted("while running this cell", died.cause, failed)
            error = CellError("KernelDied", DIED_TEXT.format(when="while running this cell", cause=died.cause), "")
            restarted = True
        if got.refused:
            notices.append(BUDGET_TEXT.format(n=got.refused, budget=self.image_budget, mb=self.image_bytes_budget // 2**20))
        return CellResult(
            text=got.text.value(),
            images=got.images,
            error=error,
            timed_out=got.interrupted,
            duration_s=duration,
            answer=got.answer,
            answered=got.answered,
            restarted=restarted,
            notices=notices + got.notices,
        )

    def _try_restart(self) -> str | None:
        """Restart the kernel; None if it worked, else why not (the next cell tries again)."""
        try:
            self.restart()
            return None
        except (KernelError, _KernelDied, OSError, RuntimeError) as err:
            return str(err) or type(err).__name__

    def _not_restarted(self, when: str, cause: str, why: str) -> CellResult:
        text = NOT_RESTARTED_TEXT.format(when=when, cause=cause, why=why)
        return CellResult("", [], CellError("KernelDied", text, ""), False, 0.0, restarted=True, notices=[text])

    def _note_models(self, report: Any) -> None:
        """Update ``perception_info`` in place with the learned models the kernel says served so far.

        The report is untrusted: only ``models`` (family → task → checkpoint) and ``model_loads``
        (checkpoint → count) of plain strings and small ints are taken, and only a few of them.
        """
        info = _report(report).get("perception")
        models = info.get("models") if isinstance(info, dict) else None
        loads = info.get("model_loads") if isinstance(info, dict) else None
        if isinstance(models, dict) and all(
            isinstance(f, str) and isinstance(m, dict) and all(isinstance(a, str) and isinstance(b, str) for a, b in m.items())
            for f, m in models.items()
        ) and len(json.dumps(models)) <= MAX_MODELS_REPORT:
            self.perception_info["models"] = models
        if isinstance(loads, dict) and all(
            isinstance(k, str) and isinstance(v, int) and 0 <= v < 10**6 for k, v in loads.items()
        ) and len(json.dumps(loads)) <= MAX_MODELS_REPORT:
            self.perception_info["model_loads"] = loads

    def _request(
        self,
        code: str,
        timeout: float,
        *,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
    ) -> CellCollector:
        """Send one execute_request and collect everything it causes until reply + idle."""
        kc = self._kc
        got = CellCollector(CappedText(self.max_output_chars), self._budget, self.max_output_chars)
        msg_id = kc.execute(
            code, store_history=store_history, user_expressions=user_expressions, allow_stdin=True, stop_on_error=False
        )
        channels = {kc.shell_channel.socket: kc.shell_channel, kc.iopub_channel.socket: kc.iopub_channel,
                    kc.stdin_channel.socket: kc.stdin_channel}
        deadline = time.monotonic() + timeout
        replied = idle = False
        last_output = time.monotonic()
        next_alive_check = time.monotonic() + POLL_S
        next_disk_check = time.monotonic() + DISK_CHECK_S
        try:
            while not (replied and idle):
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
                if now >= next_disk_check:
                    self._check_budgets()
                    next_disk_check = time.monotonic() + DISK_CHECK_S
                if kc.iopub_channel.socket in ready:
                    last_output = now
                elif replied and now - last_output > IDLE_GRACE_S:  # its 'idle' was dropped, or the connection
                    got.notice(LOST_IDLE_TEXT)
                    self._connect()  # a connection dropped for an oversized frame stays dropped: a fresh one
                    break
                for socket in ready:
                    channel = channels[socket]
                    for msg in self._messages(channel, got):
                        if parent_id(msg) == msg_id:
                            idle, replied = self._fold(channel, msg, got, idle=idle, replied=replied)
            self._check_budgets()
        except _KernelDied as died:
            died.partial = got
            raise
        return got

    def _fold(self, channel: Any, msg: dict, got: CellCollector, *, idle: bool, replied: bool) -> tuple[bool, bool]:
        """Fold one message of the request into ``got``; returns (idle, replied) after it. Whatever
        the message holds, this never raises: an unexpected failure becomes a notice."""
        kc = self._kc
        try:
            if channel is kc.iopub_channel:
                idle = got.fold_iopub(msg) or idle
            elif channel is kc.shell_channel and not replied and got.first_time(msg):
                got.fold_reply(msg)
                replied = True
            elif channel is kc.stdin_channel and msg.get("msg_type") == "input_request":
                content = msg.get("content")
                prompt = content.get("prompt") if isinstance(content, dict) else None
                kc.input(host_call_reply(prompt, self.host_handlers))
        except Exception as err:  # noqa: BLE001 - what the kernel sends is untrusted: never up the host
            kind = msg.get("msg_type")
            why = f"{type(err).__name__}: {str(err)[:200]}"
            got.notice(MALFORMED_TEXT.format(kind=kind[:40] if isinstance(kind, str) else type(kind).__name__, why=why))
        return idle, replied

    @staticmethod
    def _messages(channel: Any, got: CellCollector) -> list[Any]:
        """The messages waiting on a channel; one that cannot be read becomes a notice."""
        out = []
        while channel.msg_ready():
            try:
                out.append(channel.get_msg(timeout=0))
            except Exception as err:  # a forged frame: bad signature, bad JSON, wrong parts
                got.notice(MALFORMED_TEXT.format(kind="unreadable", why=f"{type(err).__name__}: {str(err)[:200]}"))
        return out

    def _check_budgets(self) -> None:
        """Stop the kernel when its working folder and cache layer pass the disk budget (their files
        are removed), or, where no memory cgroup holds it, when the resident memory of the kernel
        and its descendants together passes the memory limit (the documented fallback)."""
        if self.workdir is None or self._runtime is None:
            return
        cause = None
        writable = [self._runtime / name for name in ("perception", "sockets", "config")]
        usage = workspace.disk_usage(self.workdir, *writable)
        if usage.bytes > self.disk_budget_mb * 2**20 or usage.entries > workspace.MAX_WALKED:
            cause = DISK_CAUSE.format(mb=self.disk_budget_mb)
        elif self._memory_unbounded() and self.resident_bytes() > self.memory_limit_mb * 2**20:  # type: ignore[operator]
            cause = MEMORY_CAUSE.format(mb=self.memory_limit_mb)
        if cause is None:
            return
        self._stop_descendants()
        if self._sandbox_plan is not None:
            self._sandbox_plan.reap()
        self._km.signal_kernel(signal.SIGKILL)
        if cause.startswith("its working folder"):
            for folder in (self.workdir, self._runtime / "perception", self._runtime / "config"):
                workspace.empty_folder(folder)
        raise _KernelDied(cause)

    def _memory_unbounded(self) -> bool:
        plan = self._sandbox_plan
        return self.memory_limit_mb is not None and not (plan and plan.cgroups and plan.cgroups.memory_bytes)

    def resident_bytes(self) -> int:
        """Resident memory of the kernel process and all its descendants, bytes (from /proc)."""
        from spatialclaw.kernel.cgroups import descendants

        pid = self._kernel_pid()
        if pid is None:
            return 0
        total = 0
        for each in [pid, *descendants(pid)]:
            try:
                total += int(Path(f"/proc/{each}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
        return total

    def _exit_cause(self) -> str:
        process = getattr(getattr(self._km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "exit status unknown"
        if code > 128 and self.sandbox_info.get("kind") == "bwrap":
            code = 128 - code  # bubblewrap exits with 128 + the signal that killed the kernel
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            hint = ", often the memory limit or the system running out of memory" if -code == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exit code {code}"


def _report(expression: Any) -> dict:
    """What the bootstrap's ``report()`` returned (a user expression), or {} if it is malformed."""
    import ast

    try:
        text = expression["data"]["text/plain"]
        if not isinstance(text, str) or len(text) > MAX_REPORT_CHARS:  # a forged report: not worth parsing
            return {}
        value = json.loads(ast.literal_eval(text))
    except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
