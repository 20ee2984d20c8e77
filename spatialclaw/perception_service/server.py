"""`PerceptionService`: one process that loads each model once and computes perception for every
kernel on the machine, writing each result into the shared perception cache.

A request names a perception method (`protocol.PERCEPTION_METHODS`), the host's frames file and
frame positions; the service reads the frames itself, builds the same `PerceptionJob` the
kernel would (`spatialclaw.primitives.perception`), so the cache key is the kernel's, and
computes it unless the shared cache already holds it. Models live in one `ModelPool` for the
life of the process. Work is queued on a small pool of worker threads; two requests for the
same key at once are computed once (the second waits for the first).

The service is the only writer of the shared cache: what a kernel computes itself stays in its
session layer. It exits after ``idle_timeout_s`` without requests, or on ``shutdown``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from spatialclaw.errors import PerceptionError
from spatialclaw.perception_service import protocol
from spatialclaw.perception_service.folder import ServiceFolder, ensure_private, read_token, write_token

MAX_CONNECTIONS = 64  # connections served at once; more wait in the listen backlog
ACCEPT_POLL_S = 0.5
READ_TIMEOUT_S = 30.0  # a client that sends nothing for this long is dropped


class PerceptionService:
    """The service behind one socket.

    Args:
        folder: where its socket, token and log live (made private if missing); None for a
            service without a socket that `answer` alone reaches (a Ray Serve replica).
        cache_root: the shared perception cache it writes (``$SPATIALCLAW_CACHE/perception``).
        workers: computations run at once (the queue's worker threads).
        idle_timeout_s: exit after this many seconds with no request and nothing running
            (None: run until ``shutdown``).
        options: backend settings for every computation (``device``, ``dtype``); they do not
            enter cache keys.
    """

    def __init__(self, folder: ServiceFolder | None, cache_root: Path, *, workers: int = 2,
                 idle_timeout_s: float | None = None, options: dict[str, Any] | None = None) -> None:
        from spatialclaw.primitives.backends.learned.pool import ModelPool

        self.folder = folder
        self.cache_root = Path(cache_root)
        self.idle_timeout_s = idle_timeout_s
        self.options = dict(options or {})
        self.pool = ModelPool()
        self.counts = {"requests": 0, "computed": 0, "coalesced": 0, "refused": 0}
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="perception")
        self._inflight: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._stop = threading.Event()
        self._last_request = time.monotonic()
        self._token = ""

    # ------------------------------------------------------------------------- socket

    def serve(self) -> None:
        """Listen on the socket until ``shutdown`` or the idle timeout; then remove the socket and token."""
        if self.folder is None:
            raise ValueError("this service has no socket folder to serve on")
        ensure_private(self.folder.root)
        self.cache_root.mkdir(parents=True, exist_ok=True)
        self.folder.socket.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.folder.socket))
            os.chmod(self.folder.socket, 0o600)
            listener.listen(MAX_CONNECTIONS)
            listener.settimeout(ACCEPT_POLL_S)
            self._token = write_token(self.folder)
            while not self._stop.is_set() and not self._idle():
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                self._slots.acquire()
                threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()
        finally:
            listener.close()
            self.folder.socket.unlink(missing_ok=True)
            if read_token(self.folder) == self._token:  # not a newer service's
                self.folder.token.unlink(missing_ok=True)
            self._executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop accepting requests (the loop in `serve` ends within a second)."""
        self._stop.set()

    def _idle(self) -> bool:
        if self.idle_timeout_s is None:
            return False
        with self._lock:
            busy = bool(self._inflight)
        return not busy and time.monotonic() - self._last_request > self.idle_timeout_s

    def _serve_connection(self, conn: socket.socket) -> None:
        """Answer the requests on one connection, one after another, until it closes."""
        try:
            conn.settimeout(READ_TIMEOUT_S)
            while True:
                try:
                    message = protocol.receive_message(conn, protocol.MAX_REQUEST_BYTES)
                except protocol.Refused as err:  # oversized or not JSON: answer, then drop the connection
                    self._count("refused")
                    protocol.send_message(conn, _error("refused", str(err)))
                    return
                conn.settimeout(None)
                protocol.send_message(conn, self.handle(message))
                conn.settimeout(READ_TIMEOUT_S)
        except (OSError, protocol.ConnectionLost):
            return
        finally:
            conn.close()
            self._slots.release()

    # ------------------------------------------------------------------------- requests

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request that came through the socket: its token checked, then `answer` (never raises)."""
        try:
            protocol.check_token(message, self._token)
        except protocol.Refused as err:
            self._last_request = time.monotonic()
            self._count("refused")
            return _error("refused", str(err))
        return self.answer(message)

    def answer(self, message: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request from a trusted sender (its token checked, or a caller inside
        the Ray cluster): the method and its arguments are checked here (never raises)."""
        self._last_request = time.monotonic()
        try:
            method, args = protocol.checked_request(message)
        except protocol.Refused as err:
            self._count("refused")
            return _error("refused", str(err))
        if method == "ping":
            return {"ok": True, "result": {"pid": os.getpid()}}
        if method == "stats":
            return {"ok": True, "result": self.stats()}
        if method == "shutdown":
            self.shutdown()
            return {"ok": True, "result": {}}
        self._count("requests")
        try:
            return {"ok": True, "result": self.perceive(args)}
        except protocol.Refused as err:
            self._count("refused")
            return _error("refused", str(err))
        except PerceptionError as err:
            return _error("perception", str(err))
        except Exception as err:  # noqa: BLE001 - the service answers, whatever a backend raised
            return _error("failed", f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")

    def stats(self) -> dict[str, Any]:
        """``model_loads`` (checkpoint → times loaded), ``models`` (task → checkpoint) and the counts."""
        return {"model_loads": dict(self.pool.loads), "models": dict(self.pool.served), **self.counts, "pid": os.getpid()}

    def perceive(self, args: dict[str, Any]) -> dict[str, Any]:
        """Compute (or find) one result in the shared cache; ``{"key", "family", "checkpoints"}``.

        Raises:
            PerceptionError: the backend cannot serve these frames (and the failure is not one
                that is cached).
        """
        context, selected = self._context(args)
        job = _job(args, selected, context)
        with self._lock:
            future = self._inflight.get(job.key)
            if future is None:
                future = self._executor.submit(self._compute, job, context)
                self._inflight[job.key] = future
                future.add_done_callback(lambda _f, key=job.key: self._done(key))
            else:
                self.counts["coalesced"] += 1  # under the lock
        future.result()
        return {"key": job.key, "family": job.family, "checkpoints": context.loaded.get("served", {}).get(job.family, {})}

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _done(self, key: str) -> None:
        with self._lock:
            self._inflight.pop(key, None)
        self._last_request = time.monotonic()

    def _compute(self, job: Any, context: Any) -> None:
        from spatialclaw.primitives.cache import PerceptionCache

        store = PerceptionCache(self.cache_root)
        context.options.update(self.options)  # device and dtype: after the key was made
        try:
            store.get_or_compute(job.kind, job.family, job.key, job.compute, remember_failure=job.remember_failure)
        except PerceptionError:
            if not job.remember_failure:
                raise
        if store.misses:
            self._count("computed")

    def _context(self, args: dict[str, Any]) -> tuple[Any, list[Any]]:
        """The kernel context the request describes (frames read from the host's frames file)."""
        from spatialclaw.inputs.frame_cache import load_frames
        from spatialclaw.primitives.context import KernelContext

        try:
            frames = load_frames(Path(args["frames_file"]))
        except (OSError, ValueError, KeyError) as err:
            raise protocol.Refused(f"cannot read the frames file {args['frames_file']}: {err}") from None
        if max(args["positions"]) >= len(frames):
            raise protocol.Refused(f"a frame position is out of range: the frames file holds {len(frames)} frames")
        context = KernelContext(
            frames=frames, source_kind=args["source_kind"],
            source_path=Path(args["source_path"]) if args["source_path"] else None,
            source_files=[Path(p) for p in args["source_files"]], perception=args["backend"],
            cache_dir=self.cache_root.parent, backends={args["family"]: args["backend"]},
        )
        context.loaded["learned"] = self.pool
        return context, [frames[p] for p in args["positions"]]


def _job(args: dict[str, Any], selected: list[Any], context: Any) -> Any:
    from spatialclaw.primitives import perception

    if args["family"] == "reconstruction":
        return perception.reconstruction_job(selected, context)
    return perception.masks_job(args["family"], args["query"], selected, context)


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "kind": kind, "error": message}
