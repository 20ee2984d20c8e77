"""A session's folders on the host: who owns them, how much they hold, and what is kept after.

Layout of the host-private runtime folder (``/tmp/sck-XXXX``, traversable but not listable by
the kernel's uid, read-only inside the sandbox)::

    connection.json  manifest.json  frames.npz (when the input has no cached frames file)
    kernels/         the kernelspec          (the kernel's stdout/stderr: a pipe, see `LogTail`)
    sockets/         IPC sockets (the kernel's, writable)
    perception/      the session's perception results (the kernel's, writable; removed, never shared)
    config/          matplotlib and other config folders with ``--sandbox none``

What the kernel wrote is untrusted: `disk_usage` walks without following symlinks, and nothing
the kernel wrote reaches the shared perception cache (only the perception service writes it);
the host's own files are written by `write_host_file` (0644, a temporary file and a rename
inside a folder opened without following symlinks).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

MAX_WALKED = 200_000  # a tree with more entries than this counts as over any budget


@dataclass
class Usage:
    """What a folder tree holds: bytes allocated on disk and entries (files, folders, links)."""

    bytes: int = 0
    entries: int = 0


def disk_usage(*roots: Path) -> Usage:
    """Bytes (allocated blocks) and entries under ``roots``, never following a symlink."""
    usage = Usage()
    stack = [str(r) for r in roots]
    while stack and usage.entries <= MAX_WALKED:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    usage.entries += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    usage.bytes += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return usage


def chown_tree(root: Path, uid: int, gid: int, *, only_owned_by: int | None = None) -> None:
    """Give ``root`` and everything under it to ``uid``/``gid`` (symlinks themselves, not their
    targets); with ``only_owned_by``, only what that uid owns (what the kernel made, never a hard
    link it planted to someone else's file)."""
    os.lchown(root, uid, gid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                if only_owned_by is None or os.lstat(path).st_uid == only_owned_by:
                    os.lchown(path, uid, gid)
            except OSError:
                pass


def empty_folder(root: Path) -> None:
    """Remove everything inside ``root`` (symlinks removed, never followed); ``root`` stays."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def make_private_folder(prefix: str) -> Path:
    """A fresh host folder (mode 0711: the kernel's uid may pass through it, not list it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o711)
    return folder


def write_host_file(folder: Path, name: str, data: bytes) -> bool:
    """Write ``data`` as ``folder/name`` (mode 0644) atomically, refusing a symlinked folder."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    tmp = f".{name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return True
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        return False
    finally:
        os.close(dir_fd)


class LogTail:
    """The kernel's stdout and stderr, read through a pipe: the host keeps only their last
    ``keep`` bytes in memory, so output written straight to file descriptors 1 and 2 (C code,
    child processes) can neither fill the disk nor the host's memory.

    Pass `write_fd` as the kernel's stdout and stderr; `close` after the kernel is gone.
    """

    def __init__(self, keep: int = 4096) -> None:
        self.keep = keep
        self._read_fd, self.write_fd = os.pipe()
        self._tail = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="kernel-log", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._read_fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._tail = (self._tail + chunk)[-self.keep :]

    def text(self) -> str:
        """The last bytes written, decoded (invalid UTF-8 replaced)."""
        with self._lock:
            return self._tail.decode("utf-8", "replace")

    def close(self) -> None:
        """Close the host's write end; the reader stops once every writer is gone."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            os.close(self._read_fd)
