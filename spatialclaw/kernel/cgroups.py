"""Limits for a kernel and everything it starts, together: a pids and a memory cgroup per session.

`SessionCgroups.create` makes, under this process's own cgroups, one folder per controller
(cgroup v1: one hierarchy each; v2: one folder for both) named ``spatialclaw-<host pid>-<name>``,
with ``pids.max`` and the memory limit (swap included, where the machine counts it). The kernel
joins them through `join_words` (a ``/bin/sh`` wrapper that first kills what a previous kernel
left there, so a restart never inherits a fork bomb's budget); `kill_all` and `release` stop
every process left in them when the session ends, whatever it did (``setsid``, double fork).

Creating cgroups needs root (or a delegated subtree); without them `create` returns None and
the sandbox falls back to per-process limits (see `spatialclaw.kernel.sandbox`). Folders whose
host process died before cleaning up are removed on the next `create`.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

# $0 is the space-separated list of cgroup folders; the rest of the command line is exec'd.
JOIN_SCRIPT = (
    'for d in $0; do n=0; while [ -n "$(cat "$d/cgroup.procs")" ] && [ $n -lt 250 ]; do '
    'kill -9 $(cat "$d/cgroup.procs") 2>/dev/null; sleep 0.02; n=$((n + 1)); done; '
    'echo $$ > "$d/cgroup.procs" || exit 125; done; exec "$@"'
)
PREFIX = "spatialclaw-"


@dataclass
class SessionCgroups:
    """The cgroup folders of one session.

    Attributes:
        folders: one folder per hierarchy joined (the pids one first).
        max_processes: ``pids.max`` (processes and threads together), or None if no pids controller.
        memory_bytes: the memory limit of the kernel and its children together, or None.
    """

    folders: list[Path] = field(default_factory=list)
    max_processes: int | None = None
    memory_bytes: int | None = None

    @classmethod
    def create(cls, name: str, *, max_processes: int, memory_bytes: int | None) -> SessionCgroups | None:
        """Fresh cgroups for one kernel; None if this process cannot make any (not root, read-only)."""
        if os.geteuid() != 0:
            return None
        made = cls()
        for controller in ("pids", "memory"):
            if controller == "memory" and memory_bytes is None:
                continue
            parent = own_hierarchy(controller)
            if parent is None:
                continue
            existing = next((f for f in made.folders if f.parent == parent), None)
            folder = existing or _fresh_folder(parent, name)
            if folder is None:
                continue
            if existing is None:
                made.folders.append(folder)
            if controller == "pids" and _write(folder / "pids.max", str(max_processes)):
                made.max_processes = max_processes
            if controller == "memory" and memory_bytes is not None and _limit_memory(folder, memory_bytes):
                made.memory_bytes = memory_bytes
        if not made.folders or any(" " in str(f) for f in made.folders):
            made.release()
            return None
        return made

    def join_words(self) -> list[str]:
        """Words put before the kernel's command line to start it inside these cgroups."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, " ".join(str(f) for f in self.folders)]

    def pids(self) -> list[int]:
        """Every process in the session's cgroups."""
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(found)

    def memory_used(self) -> int | None:
        """Bytes charged to the memory cgroup now, or None without one."""
        for folder in self.folders:
            for name in ("memory.current", "memory.usage_in_bytes"):
                try:
                    return int((folder / name).read_text())
                except (OSError, ValueError):
                    continue
        return None

    def kill_all(self, attempts: int = 100) -> None:
        """SIGKILL every process in the cgroups until they are empty (a fork bomb included)."""
        for folder in self.folders:
            _write(folder / "cgroup.kill", "1")
        for _ in range(attempts):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def release(self) -> None:
        """Kill what is left and remove the folders (call after the kernel is shut down)."""
        self.kill_all()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.folders = []


def own_hierarchy(controller: str) -> Path | None:
    """This process's cgroup folder in the hierarchy that has ``controller`` (v1, else v2), if any."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        if " - " not in line:
            continue
        mount_point = line.split()[4]
        fstype, _, options = (line.split(" - ", 1)[1].split() + ["", "", ""])[:3]
        if fstype == "cgroup" and controller in options.split(","):
            for entry in own:
                _, controllers, path = entry.split(":", 2)
                if controller in controllers.split(","):
                    return Path(mount_point) / path.lstrip("/")
    for line in mounts:
        if " - " in line and line.split(" - ", 1)[1].startswith("cgroup2 "):
            for entry in own:
                if entry.startswith("0::"):
                    folder = Path(line.split()[4]) / entry[3:].lstrip("/")
                    try:
                        if controller in (folder / "cgroup.subtree_control").read_text().split():
                            return folder
                    except OSError:
                        pass
    return None


def _fresh_folder(parent: Path, name: str) -> Path | None:
    _remove_stale(parent)
    folder = parent / f"{PREFIX}{os.getpid()}-{name}"
    try:
        folder.mkdir()
    except OSError:
        return None
    if not os.access(folder / "cgroup.procs", os.W_OK):
        _remove(folder)
        return None
    return folder


def _limit_memory(folder: Path, limit: int) -> bool:
    if (folder / "memory.max").exists():  # cgroup v2
        ok = _write(folder / "memory.max", str(limit))
        _write(folder / "memory.swap.max", "0")
        return ok
    ok = _write(folder / "memory.limit_in_bytes", str(limit))
    _write(folder / "memory.memsw.limit_in_bytes", str(limit))  # swap counted too, where enabled
    return ok


def _write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False


def _remove(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _remove_stale(parent: Path) -> None:
    """Remove the cgroups of sessions whose host process is gone (killed before it could clean up)."""
    for folder in parent.glob(f"{PREFIX}*-*"):
        try:
            owner = int(folder.name[len(PREFIX):].split("-")[0])
            os.kill(owner, 0)
            continue  # the owner is alive
        except ProcessLookupError:
            pass
        except (ValueError, OSError):
            continue
        SessionCgroups([folder]).release()


def descendants(root: int) -> list[int]:
    """Every live process whose parent chain reaches ``root`` (read from /proc), deepest last."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found
