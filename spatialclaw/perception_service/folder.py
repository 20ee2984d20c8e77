"""Where a perception service lives: a private folder holding its socket, token and log.

The folder is the host user's, mode 0700, and never a symlink, so neither a sandboxed kernel
(its own uid) nor another local user can reach the socket or read the token. The default
folder is one per user and perception cache (``$TMPDIR/spatialclaw-<uid>/perception-<hash>/``):
every ``ask`` and eval worker on the machine that shares a cache shares its service.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from spatialclaw.errors import ConfigError

SOCKET_NAME = "service.sock"


@dataclass(frozen=True)
class ServiceFolder:
    """The files of one service: ``socket`` (the unix socket), ``token`` (0600), ``log``, ``lock``."""

    socket: Path

    @property
    def root(self) -> Path:
        return self.socket.parent

    @property
    def token(self) -> Path:
        return self.root / "token"

    @property
    def log(self) -> Path:
        return self.root / "service.log"

    @property
    def lock(self) -> Path:
        return self.root / "start.lock"


def default_folder(cache_root: Path) -> ServiceFolder:
    """The service folder of this user for the perception cache ``cache_root``."""
    digest = hashlib.blake2b(str(Path(cache_root).resolve()).encode(), digest_size=5).hexdigest()
    return ServiceFolder(Path(tempfile.gettempdir()) / f"spatialclaw-{os.getuid()}" / f"perception-{digest}" / SOCKET_NAME)


def ensure_private(*folders: Path) -> None:
    """Make each of ``folders``, in order, a 0700 folder of this user (made if missing).

    Raises:
        ConfigError: one exists but is a symlink, not a folder, someone else's, or open to others.
    """
    for folder in folders:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError as err:
            raise ConfigError.service_folder(folder, err.strerror) from None
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise ConfigError.service_folder_not_private(folder, info.st_uid, stat.S_IMODE(info.st_mode))


def write_token(folder: ServiceFolder) -> str:
    """A fresh random token, written to ``folder.token`` (0600, atomically); returns it."""
    token = secrets.token_hex(32)
    tmp = folder.root / f".token.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    os.replace(tmp, folder.token)
    return token


def read_token(folder: ServiceFolder) -> str | None:
    """The service's token, or None when there is none (not started yet)."""
    try:
        fd = os.open(folder.token, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        return f.read(256).strip() or None
