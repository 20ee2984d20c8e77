"""The host's side of the perception service: `ServiceClient` talks to a running one;
`ManagedService` also starts it on demand, and again when it died (`address.service_for`
picks one from the ``--perception-service`` setting).
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from spatialclaw.errors import SpatialClawError
from spatialclaw.perception_service import protocol
from spatialclaw.perception_service.folder import ServiceFolder, ensure_private, read_token

DEFAULT_IDLE_S = 120.0  # a service started on demand exits after this long without requests
START_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 600.0
OFF = ("off", "none")
UNREACHABLE_TEXT = "the perception service at {socket} is not answering ({why})"
NOT_STARTED_TEXT = "the perception service did not start ({why}); see {log}"


class ServiceUnavailable(SpatialClawError):
    """The service cannot be reached, or closed the connection before it replied (one line)."""


class ServiceTimeout(ServiceUnavailable):
    """The service took longer than the request's time limit (it may still be computing)."""


class ServiceClient:
    """Requests to the service whose socket is ``folder.socket``.

    Args:
        folder: the service's files (socket, token).
        timeout_s: how long one request may take, seconds (a perception result may take minutes).
    """

    def __init__(self, folder: ServiceFolder, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.folder = folder
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.folder.socket)!r})"

    def request(self, method: str, args: dict[str, Any] | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """The service's reply (``{"ok": True, "result": ...}`` or ``{"ok": False, "kind", "error"}``).

        Raises:
            ServiceUnavailable: no token yet, nothing listening, or the connection dropped.
        """
        token = read_token(self.folder)
        if token is None:
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(socket=self.folder.socket, why="no token file"))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s or self.timeout_s)
                sock.connect(str(self.folder.socket))
                protocol.send_message(sock, {"token": token, "method": method, "args": args or {}})
                reply = protocol.receive_message(sock, protocol.MAX_REPLY_BYTES)
        except socket.timeout:
            raise ServiceTimeout(UNREACHABLE_TEXT.format(socket=self.folder.socket, why="no reply in time")) from None
        except (OSError, protocol.Refused) as err:
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise ServiceUnavailable(UNREACHABLE_TEXT.format(socket=self.folder.socket, why=why)) from None
        return reply

    def call(self, method: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result of a request that must succeed (``ping``, ``stats``, ``shutdown``).

        Raises:
            ServiceUnavailable: the service cannot be reached or refused the request.
        """
        reply = self.request(method, args)
        if reply.get("ok") is not True or not isinstance(reply.get("result"), dict):
            raise ServiceUnavailable(f"the perception service refused {method}: {reply.get('error')}")
        return reply["result"]

    def stats(self) -> dict[str, Any] | None:
        """The service's ``stats`` (models loaded, counts), or None when it is not running."""
        try:
            return self.call("stats")
        except ServiceUnavailable:
            return None


class ManagedService(ServiceClient):
    """A service this host starts when a request finds none (also after it was killed).

    Several hosts (eval workers, ``ask`` runs) may race to start it: a lock file lets one start
    it and the others use it. It stops itself after ``idle_timeout_s`` without requests.
    """

    def __init__(self, folder: ServiceFolder, cache_root: Path, *, idle_timeout_s: float = DEFAULT_IDLE_S,
                 workers: int = 2, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        super().__init__(folder, timeout_s)
        self.cache_root = Path(cache_root)
        self.idle_timeout_s = idle_timeout_s
        self.workers = workers
        self.starts = 0  # how many times this host started the service

    def request(self, method: str, args: dict[str, Any] | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """As `ServiceClient.request`; a perception request that finds no service starts one and
        is sent again (``stats``, ``ping`` and ``shutdown`` never start one)."""
        try:
            return super().request(method, args, timeout_s)
        except ServiceUnavailable as err:
            if method not in protocol.PERCEPTION_METHODS or isinstance(err, ServiceTimeout):
                raise
            self.start()
            return super().request(method, args, timeout_s)

    def start(self) -> None:
        """Start the service unless one answers already; wait until it answers.

        Raises:
            ServiceUnavailable: it exited or did not answer within `START_TIMEOUT_S` seconds.
        """
        ensure_private(self.folder.root.parent, self.folder.root)
        with open(self.folder.lock, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._answers():
                return
            process = self._spawn()
            self.starts += 1
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if self._answers():
                    return
                if process.poll() is not None:
                    raise ServiceUnavailable(NOT_STARTED_TEXT.format(why=f"exit code {process.returncode}", log=self.folder.log))
                time.sleep(0.1)
            process.kill()
            raise ServiceUnavailable(NOT_STARTED_TEXT.format(why=f"no answer in {START_TIMEOUT_S:g} s", log=self.folder.log))

    def _answers(self) -> bool:
        try:
            return ServiceClient.request(self, "ping", timeout_s=5.0).get("ok") is True
        except ServiceUnavailable:
            return False

    def _spawn(self) -> subprocess.Popen:
        argv = [sys.executable, "-m", "spatialclaw.perception_service", "--socket", str(self.folder.socket),
                "--cache", str(self.cache_root), "--idle-timeout", str(self.idle_timeout_s), "--workers", str(self.workers)]
        with open(self.folder.log, "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.folder.root,
                                       start_new_session=True, env=dict(os.environ))
        threading.Thread(target=process.wait, daemon=True, name="perception-service-reaper").start()
        return process
