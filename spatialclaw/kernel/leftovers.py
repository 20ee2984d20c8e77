"""What a kernel without a mount or IPC namespace leaves on the host, removed when its session ends.

Without bubblewrap the kernel shares the host's ``/tmp``, ``/var/tmp``, ``/dev/shm`` and System V
IPC. As root it runs as a per-session uid that owns nothing else on the machine, so whatever that
uid owns after the session is the session's: `remove_leftovers` deletes the entries it owns at the
top of the shared temporary folders (a folder with all it holds, symlinks never followed) and its
System V shared memory segments, message queues and semaphore sets (which outlive processes).
"""

from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path

SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue")
IPC_RMID = 0
# /proc/sysvipc file → (column of the id, columns of owner and creator uids)
SYSV_TABLES = {"shm": (1, (7, 9)), "msg": (1, (7, 9)), "sem": (1, (4, 6))}


def remove_leftovers(uid: int, folders: tuple[str, ...] = SHARED_FOLDERS) -> list[str]:
    """Remove the files and System V IPC objects that ``uid`` owns in the host's shared places.

    Call only for a uid that nothing but one session's kernel used. Returns what was removed
    (paths, and ``"shm:ID"``-style names for IPC objects).
    """
    if uid == 0:
        raise ValueError("refusing to remove what root owns")
    return [*_remove_files(uid, folders), *_remove_sysv(uid)]


def _remove_files(uid: int, folders: tuple[str, ...]) -> list[str]:
    removed = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                continue
    return removed


def _remove_sysv(uid: int) -> list[str]:
    libc = ctypes.CDLL(None, use_errno=True)
    remove = {"shm": lambda i: libc.shmctl(i, IPC_RMID, None), "msg": lambda i: libc.msgctl(i, IPC_RMID, None),
              "sem": lambda i: libc.semctl(i, 0, IPC_RMID)}
    removed = []
    for table, (id_column, uid_columns) in SYSV_TABLES.items():
        try:
            rows = Path(f"/proc/sysvipc/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            try:
                owners = {int(fields[c]) for c in uid_columns}
                ident = int(fields[id_column])
            except (IndexError, ValueError):
                continue
            if uid in owners and remove[table](ident) == 0:
                removed.append(f"{table}:{ident}")
    return removed
