"""Atomic file writes: write a temporary file beside the target, then rename it into place.

A reader (another kernel, a second question about the same input) never sees a half-written
cache file, and a crash mid-write leaves no partial file behind. The target's folder is opened
without following a symlink, and the temporary file is created inside it through that handle,
so a symlink planted where a cache folder should be never redirects a write elsewhere.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np


def real_folder(path: Path) -> Path:
    """``path`` as a real folder: created if missing; a symlink (or file) in its place is removed first."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_npz(path: Path, arrays: dict[str, np.ndarray], *, mode: int = 0o644) -> None:
    """Save ``arrays`` as an uncompressed ``.npz`` at ``path`` atomically (parents are created).

    Raises:
        OSError: the folder cannot be written, or is a symlink.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    tmp = f".{path.stem}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.chmod(tmp, mode, dir_fd=dir_fd)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
    finally:
        os.close(dir_fd)
