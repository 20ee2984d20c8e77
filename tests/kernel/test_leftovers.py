"""What a kernel without bubblewrap leaves in the host's shared places is removed, and only that."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from spatialclaw.kernel.leftovers import remove_leftovers
from spatialclaw.kernel.workspace import chown_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making files and IPC objects of another uid needs root")
KERNEL_UID = 0x5C000000 + 4242


def _as_kernel_uid(action: str, folder: Path) -> None:
    """In a child that became ``KERNEL_UID``: make a file and a folder in ``folder``, and a System V
    shared memory segment, message queue and semaphore set (they outlive the child)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(KERNEL_UID, KERNEL_UID, KERNEL_UID)
            os.setresuid(KERNEL_UID, KERNEL_UID, KERNEL_UID)
            (folder / f"{action}.bin").write_bytes(b"x")
            (folder / f"{action}-dir" / "inner").mkdir(parents=True)
            os.symlink("/etc", folder / f"{action}-dir" / "inner" / "etc")
            libc = ctypes.CDLL(None, use_errno=True)
            ok = libc.shmget(0, 4096, 0o1600) >= 0 and libc.msgget(0, 0o1600) >= 0 and libc.semget(0, 1, 0o1600) >= 0
            os._exit(0 if ok else 3)
        except BaseException:
            os._exit(4)
    assert os.waitpid(pid, 0)[1] == 0


def _sysv_owned(uid: int) -> int:
    count = 0
    for table, column in (("shm", 7), ("msg", 7), ("sem", 4)):
        rows = Path(f"/proc/sysvipc/{table}").read_text().splitlines()[1:]
        count += sum(1 for row in rows if int(row.split()[column]) == uid)
    return count


@pytest.fixture()
def shared() -> Iterator[Path]:
    """A world-writable sticky folder the other uid can reach (pytest's own folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="sc-leftovers-"))
    os.chmod(folder, 0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_what_the_kernel_uid_left_is_removed_and_nothing_else(shared: Path) -> None:
    (shared / "hosts-own.txt").write_text("keep")
    _as_kernel_uid("left", shared)
    assert _sysv_owned(KERNEL_UID) == 3
    removed = remove_leftovers(KERNEL_UID, folders=(str(shared),))
    assert sorted(p.name for p in shared.iterdir()) == ["hosts-own.txt"]
    assert _sysv_owned(KERNEL_UID) == 0 and len([r for r in removed if ":" in r]) == 3
    assert Path("/etc/hostname").exists()  # the planted symlink was removed, not followed
    with pytest.raises(ValueError):
        remove_leftovers(0)


def test_giving_a_workdir_back_skips_what_the_kernel_did_not_make(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    made = work / "made.txt"
    made.write_text("kernel")
    os.chown(made, KERNEL_UID, KERNEL_UID)
    planted = work / "planted"  # stands for a hard link to someone else's file
    planted.write_text("other")
    os.chown(planted, 1234, 1234)
    chown_tree(work, 0, 0, only_owned_by=KERNEL_UID)
    assert (made.stat().st_uid, planted.stat().st_uid) == (0, 1234)
