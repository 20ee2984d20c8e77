"""What the kernel's unprivileged uid can read on the host, and session copies of inputs it cannot.

As root, the kernel runs as a per-session uid that owns nothing and belongs to no group but its
own, so it reads a host file only through the *other* permission bits: a folder must be
searchable by others (``o+x``) to be passed, listable (``o+r``) to be listed, a file readable
(``o+r``). Without bubblewrap every folder on the way counts (``through_parents``); under
bubblewrap a path is bound where it is and its parents are the sandbox's own (mode 0755).

`kernel_copies` makes the session's inputs readable to the kernel without changing a host file:
an input the kernel's uid cannot read is copied (a reflink where the file system can, else a
plain copy) into the session's own folder, owned by root with the session's group
and mode 0440 (folders 0750), so that no other user can read it and the kernel cannot change it.
A folder input (an RGB-D sequence) is mirrored: its readable files hard-linked where the file
system allows (no bytes copied, same permissions as before), the others copied.

    copies = kernel_copies([Path("/root/private/room.mp4")], runtime / "inputs", gid, through_parents=False)
    # {Path("/root/private/room.mp4"): Path(runtime / "inputs/0/room.mp4")}
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

FICLONE = 0x40049409  # ioctl: share the source's blocks (btrfs, xfs, bcachefs); fails elsewhere


def readable_by_others(path: Path, *, through_parents: bool) -> bool:
    """Whether a uid that owns nothing and is in no group can read ``path`` (list it, for a
    folder), following symlinks; with ``through_parents``, also reach it from ``/``."""
    try:
        resolved = Path(path).resolve(strict=True)
        info = resolved.stat()
    except (OSError, RuntimeError):
        return False
    wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
    if info.st_mode & wanted != wanted:
        return False
    if not through_parents:
        return True
    given = Path(os.path.abspath(path))
    return all(_searchable(parent) for parent in {*resolved.parents, *given.parents})


def _searchable(folder: Path) -> bool:
    try:
        return bool(folder.stat().st_mode & stat.S_IXOTH)
    except OSError:
        return False


def first_unreachable(paths: Iterable[Path], *, through_parents: bool = True, only_reach: bool = False) -> Path | None:
    """The first of ``paths`` that exists and that a uid owning nothing cannot read, or None.
    With ``only_reach`` it need only get to them (folders the session gives to that uid)."""
    for path in paths:
        path = Path(path)
        if not path.exists():
            continue
        if only_reach and not all(_searchable(p) for p in {*path.resolve().parents, *Path(os.path.abspath(path)).parents}):
            return path
        if not only_reach and not readable_by_others(path, through_parents=through_parents):
            return path
    return None


def world_readable_parts(root: Path, *, limit: int = 20_000) -> list[Path]:
    """The fewest paths under ``root`` that cover exactly what other users can read there: ``root``
    itself when all of it is readable, else its readable files and the parts of its folders (a
    0600 ``/etc/shadow`` or a 0700 ``/etc/ssl/private`` is left out). Symlinks need no cover (what
    they point to is judged where it is). Empty past ``limit`` entries."""
    found: list[str] = []
    seen = 0

    def cover(path: str, mode: int) -> bool:
        """Add what is readable under ``path``; True if all of it is (the caller may take ``path``)."""
        nonlocal seen
        seen += 1
        if stat.S_ISLNK(mode):
            return True
        wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if seen > limit or mode & wanted != wanted:
            return False
        if not stat.S_ISDIR(mode):
            return True
        try:
            with os.scandir(path) as entries:
                children = [(entry.path, entry.stat(follow_symlinks=False).st_mode) for entry in entries]
        except OSError:
            return False
        whole = [child for child, child_mode in children if cover(child, child_mode)]
        if len(whole) == len(children):
            return True
        found.extend(child for child in whole if not os.path.islink(child))
        return False

    try:
        if cover(str(root), os.lstat(root).st_mode):
            found.append(str(root))
    except OSError:
        return []
    return [] if seen > limit else [Path(p) for p in found]


def kernel_copies(paths: Iterable[Path], folder: Path, gid: int, *, through_parents: bool) -> dict[Path, Path]:
    """Session copies of the inputs the kernel's uid cannot read (the others are not copied).

    Args:
        paths: input files and folders (a video, image files, an RGB-D folder).
        folder: the session's folder for copies (created, mode 0750, group ``gid``).
        gid: the kernel's group: the only one, besides root, that can read the copies.
        through_parents: the kernel reaches inputs through the host's folders (no bubblewrap).

    Returns:
        ``{input as given (absolute): its copy}``; inputs that need no copy are absent.
    """
    copies: dict[Path, Path] = {}
    for path in paths:
        given = Path(os.path.abspath(path))
        if given in copies or not given.exists() or _all_readable(given, through_parents=through_parents):
            continue
        target = folder / str(len(copies)) / given.name
        _private_folder(target.parent, gid)
        if given.is_dir():
            _mirror(given, target, gid)
        else:
            _copy_file(given, target, gid)
        copies[given] = target
    return copies


def _all_readable(path: Path, *, through_parents: bool) -> bool:
    """``path`` is readable by others, and so is everything under it (for a folder)."""
    if not readable_by_others(path, through_parents=through_parents):
        return False
    if not path.is_dir():
        return True
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            if not readable_by_others(Path(root) / name, through_parents=False):
                return False
    return True


def _private_folder(folder: Path, gid: int) -> None:
    for made in reversed([folder, *folder.parents]):
        if not made.exists():
            made.mkdir()
            os.chown(made, 0, gid)
            os.chmod(made, 0o750)


def _mirror(source: Path, target: Path, gid: int) -> None:
    """``target`` holds the regular files of ``source`` (symlinks followed), hard-linked where they
    are readable by others and on the same file system, else copied (mode 0440, group ``gid``)."""
    for root, dirs, files in os.walk(source, followlinks=False):
        here = target / Path(root).relative_to(source)
        _private_folder(here, gid)
        for name in files:
            original = Path(root) / name
            try:
                if not original.resolve().is_file():
                    continue
                if readable_by_others(original, through_parents=False):
                    os.link(original.resolve(), here / name)
                    continue
            except OSError:
                pass
            _copy_file(original, here / name, gid)


def _copy_file(source: Path, target: Path, gid: int) -> None:
    """Copy ``source`` to ``target`` (a reflink where the file system allows), mode 0440, group ``gid``.

    A ``source`` gone since its folder was listed (a writer's temporary file, renamed: say the
    trajectory an agent writes into a folder that is also the input) is left out, not an error.
    """
    try:
        src = open(source, "rb")  # noqa: SIM115 (the with below closes it)
    except FileNotFoundError:
        return
    with src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
        try:
            with os.fdopen(fd, "wb", closefd=False) as dst:
                try:
                    fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
                except OSError:
                    if not _sendfile(src, dst):
                        shutil.copyfileobj(src, dst, 1 << 20)
            os.fchown(fd, 0, gid)
            os.fchmod(fd, 0o440)
        finally:
            os.close(fd)


def _sendfile(src: BinaryIO, dst: BinaryIO) -> bool:
    """Copy with ``sendfile`` (in the OS kernel, no user-space buffer); False if it cannot."""
    size = os.fstat(src.fileno()).st_size
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except OSError:
        if offset:
            raise
        return False
    return offset >= size
