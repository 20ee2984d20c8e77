"""Where the kernel runs: under bubblewrap as an unprivileged user when it works here, else unisolated.

`plan_sandbox` turns a mode (``"auto"``, ``"bwrap"``, ``"none"``) and the session's folders
(`SessionFolders`) into a `SandboxPlan`: the words put before the kernel's command line, its
environment (`spatialclaw.kernel.environment`), and the options of ``spatialclaw.kernel.launcher``.

Under bubblewrap the kernel sees a file system built from nothing: the system folders
(``/usr``, ``/etc``, ``/sys``, the ``/bin``-style links) read-only, and bound back read-only
only what it needs: the interpreter and the installed packages it imports, SpatialClaw's own
source, the input files, the frames file, the shared perception cache and the Hugging Face
cache. Not the host's current folder, not ``sys.path`` or ``PYTHONPATH`` entries, not the rest
of the cache (frame cache, other sessions). It writes only to its working directory, its socket
folder, its session layer of the perception cache, and a size-limited private ``/tmp`` and
``/dev/shm``. ``/proc/sys`` is read-only. No network (``--unshare-net``: nested VLM calls travel
over the Jupyter stdin channel), its own process table, IPC and host name. The command line
itself is built by `spatialclaw.kernel.bwrap`.

Never host root: when the host is root, bubblewrap keeps only CAP_SETUID/CAP_SETGID for the
launcher, which joins a fresh session keyring, drops to a per-session uid that owns nothing on
the host (`allocate_uid`), sets no-new-privileges and checks that no capability is left, all
before any model code runs. Root-only files (``/etc/shadow``) and host-wide settings are then
out of reach whatever a cell does. Inputs that uid cannot read (a 0600 video in a 0700 folder)
are session copies only it can read (`spatialclaw.kernel.access`), bound where the input is.

Limits are per session: a memory and a pids cgroup hold the kernel and all its children
(`spatialclaw.kernel.cgroups`); without cgroups (not root), ``RLIMIT_AS`` per process and
``RLIMIT_NPROC`` per user are the fallback, and the session kills the kernel's descendants at
the end. ``--sandbox none`` (or ``auto`` without bubblewrap) has no mount or network namespace:
the kernel sees the host's file system and network. As root it still runs as a per-session uid
(no privileges, no-new-privileges, fresh keyring, the seccomp filter, a subreaper whose
descendants are stopped), so it reads only world-readable files (inputs it could not read are
session copies it reads instead); if the interpreter or the working folder is not readable by
other users, it cannot drop root and says so loudly: it stays uid 0 without any capability and,
with Landlock, reads only what bubblewrap would show it and changes nothing outside its folders
(without Landlock it reads and writes root's files). Not as root, it runs
as the host user.
Either way, where the OS kernel has Landlock, TCP and reaching out of the session by abstract
unix sockets or signals are refused (`spatialclaw.kernel.landlock`).
``auto`` says loudly once per process that the kernel is not isolated.

bubblewrap is not started with ``--new-session``: that would move the kernel out of the process
group that jupyter_client signals. The kernel has no terminal (jupyter_client starts it in a new
session, stdin a pipe). The wrapper makes ``bwrap`` ignore SIGINT, so a SIGINT to the group
interrupts the kernel instead of killing the sandbox (the launcher restores the kernel's handler).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from spatialclaw.config import hub_cache_dir
from spatialclaw.errors import FALLBACK_WARNING, NO_SECCOMP_WARNING, ROOT_KERNEL_WARNING, ConfigError
from spatialclaw.kernel.access import first_unreachable, kernel_copies, readable_by_others, world_readable_parts
from spatialclaw.kernel.cgroups import SessionCgroups
from spatialclaw.kernel.environment import kernel_environment
from spatialclaw.kernel.landlock import abi_version as landlock_abi
from spatialclaw.kernel.landlock import available as landlock_available
from spatialclaw.kernel.leftovers import remove_leftovers
from spatialclaw.kernel.bwrap import (
    KERNEL_TMP, SYSTEM_FOLDERS, bwrap_available, bwrap_words, is_within, library_paths, runtime_paths,
)
from spatialclaw.kernel.seccomp import filter_program, native_abi

SANDBOX_MODES = ("auto", "bwrap", "none")

CPU_SECONDS = 4 * 3600  # RLIMIT_CPU of the kernel process (all its threads together), seconds
FILE_SIZE_MB = 4096  # RLIMIT_FSIZE: the largest file the kernel may write, MiB
KERNEL_UIDS = (0x5C000000, 0x5C000000 + (1 << 24))  # per-session uids are drawn from this range
KERNEL_CONFIG = Path("/tmp/.config")

log = logging.getLogger("spatialclaw.kernel.sandbox")

_warned: set[str] = set()


@dataclass
class SessionFolders:
    """The host folders of one session, as the sandbox needs them.

    Attributes:
        workdir: the kernel's working directory and ``$HOME`` (writable).
        sockets: where the kernel creates its IPC sockets (writable).
        runtime: the session's host-private folder: connection file, manifest, frames file (read-only).
        shared_cache: the shared perception cache (read-only to the kernel; the host writes it).
        cache_layer: the session's own perception results (writable; the host checks them at the end).
        config: per-session configuration folders outside the sandbox (``--sandbox none`` only).
        inputs: files and folders the kernel reads (input files, frames file).
    """

    workdir: Path
    sockets: Path
    runtime: Path
    shared_cache: Path
    cache_layer: Path
    config: Path
    inputs: list[Path] = field(default_factory=list)


@dataclass
class SandboxPlan:
    """How one kernel is started.

    Attributes:
        kind: ``"bwrap"`` (bubblewrap) or ``"none"`` (resource limits only).
        prefix: words put before the kernel's command line (wrappers, ``bwrap`` and its options).
        env: the environment the command is started with (allowlisted, no secrets).
        reason: one line on why this kind was chosen and what is and is not contained.
        launcher_args: options for ``spatialclaw.kernel.launcher``.
        cgroups: the session's pids/memory cgroups, or None; emptied and removed by `release`.
        max_processes: the cap on the kernel's processes and threads, or None if none could be set.
        uid: the host uid the kernel runs as (None: the host's own).
        requested: the mode asked for (``"auto"``, ``"bwrap"`` or ``"none"``).
        kernel_paths: ``{input path on the host: where the kernel reads it}`` for inputs the
            kernel reads from a session copy at another path (without bubblewrap, as root).
        kernel_cache: the cache folder the kernel is told about when it cannot read the host's
            (an empty one of the session's), else None.
    """

    kind: Literal["bwrap", "none"]
    prefix: list[str]
    env: dict[str, str]
    reason: str
    launcher_args: list[str] = field(default_factory=list)
    cgroups: SessionCgroups | None = None
    max_processes: int | None = None
    uid: int | None = None
    requested: str = "auto"
    kernel_paths: dict[str, str] = field(default_factory=dict)
    kernel_cache: str | None = None

    def info(self) -> dict:
        """What to record about the sandbox (in ``KernelSession.sandbox_info`` and the trajectory)."""
        memory = self.cgroups.memory_bytes if self.cgroups else None
        return {
            "kind": self.kind,
            "requested": self.requested,
            "reason": self.reason,
            "isolated": self.kind == "bwrap",
            "network": self.kind == "none",
            "uid": os.geteuid() if self.uid is None else self.uid,
            "max_processes": self.max_processes,
            "process_limit": "pids cgroup" if self.cgroups and self.cgroups.max_processes else (
                "RLIMIT_NPROC" if self.max_processes else None),
            "memory_limit": "memory cgroup" if memory else "RLIMIT_AS per process",
            "cpu_seconds": CPU_SECONDS,
            "file_size_mb": FILE_SIZE_MB,
        }

    def reap(self) -> None:
        """Kill whatever is still running in the session's cgroups (left behind by a dead kernel)."""
        if self.cgroups is not None:
            self.cgroups.kill_all()

    def release(self) -> None:
        """Kill what is left in the cgroups and remove them (call after the kernel is shut down);
        without bubblewrap, also remove what the session's uid left in ``/tmp``, ``/dev/shm`` and
        System V IPC (`spatialclaw.kernel.leftovers`)."""
        if self.cgroups is not None:
            self.cgroups.release()
            self.cgroups = None
        if self.kind == "none" and self.uid is not None:
            remove_leftovers(self.uid)


def plan_sandbox(
    mode: str,
    folders: SessionFolders,
    *,
    memory_mb: int | None = None,
    host_env: Mapping[str, str] | None = None,
) -> SandboxPlan:
    """The sandbox plan for one kernel.

    Args:
        mode: ``"auto"`` (bubblewrap if it works here, else unisolated with a loud warning once
            per process), ``"bwrap"`` (bubblewrap or a `ConfigError`), or ``"none"``.
        folders: the session's folders (`SessionFolders`).
        memory_mb: memory of the kernel and all its children together, MiB (a cgroup where one
            can be made, else ``RLIMIT_AS`` per process); None for no limit.
        host_env: the host environment to pick allowlisted variables from (``os.environ`` if None).
    """
    if mode not in SANDBOX_MODES:
        raise ConfigError.unknown_choice("sandbox mode", mode, SANDBOX_MODES)
    host_env = os.environ if host_env is None else host_env
    kind: Literal["bwrap", "none"] = "none"
    why = "--sandbox none"
    if mode != "none":
        works, why = bwrap_available()
        if works:
            kind = "bwrap"
        elif mode == "bwrap":
            raise ConfigError.bwrap_broken(why)


    memory_bytes = None if memory_mb is None else int(memory_mb) * 1024 * 1024
    cgroups = SessionCgroups.create(folders.runtime.name, max_processes=_process_allowance(), memory_bytes=memory_bytes)
    launcher_args = ["--cpu-seconds", str(CPU_SECONDS), "--file-size-mb", str(FILE_SIZE_MB), "--new-keyring"]
    if memory_mb is not None:
        launcher_args += ["--memory-mb", str(int(memory_mb))]
    program = filter_program()
    if program is None:
        _warn_once(NO_SECCOMP_WARNING.format(abi=native_abi()))
    elif kind == "none":  # bubblewrap applies the filter itself
        launcher_args.append("--seccomp")
    if kind == "none" and landlock_abi() >= 1:  # no network namespace: refuse TCP at least
        launcher_args.append("--landlock")
    max_processes, notes = _process_limits(cgroups, launcher_args)
    if kind == "none":
        plan, blocked = _plan_unisolated(folders, host_env, launcher_args, why)
        _warn_unisolated(mode, why, blocked)
    else:
        plan = _plan_bwrap(folders, host_env, launcher_args, program)
    plan.prefix[:0] = cgroups.join_words() if cgroups is not None else []
    plan.reason += "; " + notes + ("" if program is not None else "; user namespaces NOT blocked (no seccomp "
                                   f"filter for {native_abi()})")
    plan.cgroups, plan.max_processes, plan.requested = cgroups, max_processes, mode
    return plan


def _warn_unisolated(mode: str, why: str, blocked: Path | None) -> None:
    """Say loudly (once per process) that ``auto`` found no bubblewrap, or that the kernel keeps root."""
    view = "; Landlock limits what it reads and writes" if landlock_abi() >= 1 else "; it can read and write root's files"
    root = ROOT_KERNEL_WARNING.format(path=blocked, view=view) if blocked is not None else None
    if mode == "auto":
        who = "any user" if os.geteuid() == 0 and blocked is None else ("root" if blocked else "you")
        net = "" if landlock_available() else " (TCP included: this OS kernel has no Landlock)"
        _warn_once(FALLBACK_WARNING.format(why=why, who=who, net=net) + (f"; and {root}" if root else ""))
    elif root is not None:
        _warn_once(root)


def _plan_unisolated(
    folders: SessionFolders, host_env: Mapping[str, str], launcher_args: list[str], why: str
) -> tuple[SandboxPlan, Path | None]:
    """Without bubblewrap: the host's file system and network, but (as root) a per-session uid
    with no privileges, no-new-privileges, a fresh keyring and the seccomp filter. Also returns
    the path that keeps the kernel root (not readable by other users), if any."""
    hub = hub_cache_dir(host_env)
    env = kernel_environment(host_env, home=folders.workdir, tmp=folders.config / "tmp", cache=folders.shared_cache.parent,
                             config=folders.config, hub_cache=hub if hub.is_dir() else None)
    refused = landlock_available()
    why += f"; Landlock refuses {', '.join(refused)}" if refused else "; no Landlock here: TCP is reachable"
    if os.geteuid() != 0:
        reason = f"NOT isolated ({why}): the kernel runs as this user (uid {os.geteuid()}) with its files"
        return SandboxPlan("none", [], env, reason, launcher_args), None
    blocked = first_unreachable(runtime_paths()) or first_unreachable(
        [folders.workdir, folders.runtime, folders.sockets, folders.config], only_reach=True)
    if blocked is not None:  # root, but no capability and (with Landlock) no change outside the session
        launcher_args.append("--drop-capabilities")
        for folder in (folders.workdir, folders.sockets, folders.cache_layer, folders.config):
            launcher_args += ["--writable", str(folder)]
        for path in _root_kernel_view(folders, env, hub):
            launcher_args += ["--readable", str(path)]
        files = ("reads only its view and writes only its folders (Landlock)" if landlock_abi() >= 1
                 else "reads and writes root's files (no Landlock)")
        reason = (f"NOT isolated ({why}): the kernel runs as root without capabilities and {files} "
                  f"({blocked} is not readable by other users)")
        return SandboxPlan("none", [], env, reason, launcher_args), blocked
    uid = allocate_uid()
    launcher_args += ["--uid", str(uid), "--gid", str(uid), "--chdir", str(folders.workdir.resolve())]
    inputs = [p for p in folders.inputs if not is_within(Path(p).resolve(), folders.runtime.resolve())]
    copies = kernel_copies(inputs, folders.runtime / "inputs", uid, through_parents=True)
    cache, unread = folders.shared_cache.parent, ""
    if not readable_by_others(folders.shared_cache, through_parents=True):  # e.g. ~/.cache in a 0700 home
        cache, unread = folders.runtime / "cache", "; the shared caches are not readable by it (it recomputes)"
        (cache / folders.shared_cache.name).mkdir(parents=True, exist_ok=True)
    hub_ok = hub.is_dir() and readable_by_others(hub, through_parents=True)
    env = kernel_environment(host_env, home=folders.workdir, tmp=folders.config / "tmp", cache=cache,
                             config=folders.config, hub_cache=hub if hub_ok else None)
    reason = (f"NOT isolated ({why}): the kernel runs as uid {uid} (no privileges, fresh keyring) but sees every "
              "world-readable file" + _copies_note(copies) + unread)
    plan = SandboxPlan("none", [], env, reason, launcher_args, uid=uid,
                       kernel_paths={str(k): str(v) for k, v in copies.items()})
    plan.kernel_cache = str(cache) if unread else None
    return plan, None


def _root_kernel_view(folders: SessionFolders, env: Mapping[str, str], hub: Path) -> list[Path]:
    """What a kernel that has to stay root may read (with Landlock): what it would see under
    bubblewrap. The system folders, of ``/etc`` only what other users may read (not
    ``/etc/shadow``), ``/proc`` and ``/sys``, the interpreter and its packages, the session's
    folders and inputs, the shared caches; not ``/tmp`` (other sessions), not ``/root`` or ``/home``."""
    view = [Path(f) for f in SYSTEM_FOLDERS if f != "/etc"] + world_readable_parts(Path("/etc"))
    view += [Path("/proc"), Path("/sys"), *runtime_paths(), *library_paths(env), folders.runtime, folders.shared_cache]
    view += [hub] if hub.is_dir() else []
    for given in folders.inputs:
        view += [Path(os.path.abspath(given)), Path(given).resolve()]
    return list(dict.fromkeys(view))


def _plan_bwrap(
    folders: SessionFolders, host_env: Mapping[str, str], launcher_args: list[str], program: bytes | None
) -> SandboxPlan:
    """Under bubblewrap: a root built from nothing, as a per-session uid when the host is root."""
    hub = hub_cache_dir(host_env)
    uid = allocate_uid() if os.geteuid() == 0 else None
    launcher_args += ["--chdir", str(folders.workdir.resolve())]
    if uid is not None:
        launcher_args += ["--uid", str(uid), "--gid", str(uid), "--max-processes", str(_process_allowance())]
    env = kernel_environment(host_env, home=folders.workdir, tmp=KERNEL_TMP, cache=folders.shared_cache.parent,
                             config=KERNEL_CONFIG, hub_cache=hub if hub.is_dir() else None)
    copies: dict[Path, Path] = {}
    if uid is not None:
        inputs = [p for p in folders.inputs if not is_within(Path(p).resolve(), folders.runtime.resolve())]
        copies = kernel_copies(inputs, folders.runtime / "inputs", uid, through_parents=False)
    if program is not None:  # bwrap reads the filter from fd 9, opened by the wrapper
        (folders.runtime / "seccomp.bpf").write_bytes(program)
        prefix = ["/bin/sh", "-c", 'trap "" INT; exec "$@" 9<"$0"', str(folders.runtime / "seccomp.bpf")]
    else:
        prefix = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh"]
    read_only = [*folders.inputs, folders.shared_cache, *([hub] if hub.is_dir() else [])]
    writable = [folders.workdir, folders.sockets, folders.cache_layer]
    prefix += bwrap_words(read_only, writable, env, drop_uid=uid is not None,
                          seccomp_fd=9 if program is not None else None, copies=copies)
    who = f"uid {uid}" if uid is not None else f"uid {os.geteuid()}"
    reason = (f"bubblewrap as {who}: only the interpreter, packages and inputs visible, no network, no secrets"
              + (", no new user namespaces" if program is not None else "") + _copies_note(copies))
    return SandboxPlan("bwrap", prefix, env, reason, launcher_args, uid=uid)


def _copies_note(copies: Mapping[Path, Path]) -> str:
    if not copies:
        return ""
    size = sum(_tree_bytes(copy) for copy in copies.values())
    return f"; {len(copies)} input(s) other users cannot read copied for the kernel ({size / 2**20:.0f} MiB)"


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _process_limits(cgroups: SessionCgroups | None, launcher_args: list[str]) -> tuple[int | None, str]:
    """The process cap and a note on how memory and processes are limited."""
    memory = "memory per session (cgroup)" if cgroups and cgroups.memory_bytes else "memory per process (RLIMIT_AS)"
    if cgroups is not None and cgroups.max_processes:
        return cgroups.max_processes, f"{memory}, processes capped at {cgroups.max_processes} (cgroup)"
    if os.geteuid() != 0:
        cap = _user_task_count() + _process_allowance()
        launcher_args += ["--max-processes", str(cap)]
        return cap, f"{memory}, processes capped by RLIMIT_NPROC ({cap} for this user)"
    return None, f"{memory}, processes NOT capped (root ignores RLIMIT_NPROC and no pids cgroup is writable)"


def allocate_uid() -> int:
    """A uid from `KERNEL_UIDS` that no account and no running process uses (one per session)."""
    import pwd

    in_use = {uid for uid in _process_uids()}
    for _ in range(1000):
        uid = random.randrange(*KERNEL_UIDS)
        if uid in in_use:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise ConfigError.no_free_uid()


def _process_uids() -> Iterable[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield os.stat(entry.path).st_uid
            except OSError:
                continue


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("spatialclaw: WARNING: %s", message)


# ----------------------------------------------------------------------------- process limits


def _process_allowance() -> int:
    """Processes and threads one kernel may add: enough for thread pools on big machines."""
    return max(512, 8 * (os.cpu_count() or 1))


def _user_task_count() -> int:
    """Tasks (processes and threads) this user runs now: what RLIMIT_NPROC counts."""
    uid, total = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1").strip())
    return total
