"""Where the kernel runs: under bubblewrap when it works here, else with resource limits only.

`plan_sandbox` turns a mode (``"auto"``, ``"bwrap"``, ``"none"``) and the session's folders into a
`SandboxPlan`: the words put before the kernel's command line, the environment it is started
with, and the extra options of ``spatialclaw.kernel.launcher`` (CPU time, file size, process count).

Under bubblewrap the kernel sees the machine's file system read-only (``--ro-bind / /``), with
empty, private ``/tmp``, ``/var/tmp``, ``/run`` and home folders (``$HOME``, ``/home``, ``/root``);
what it needs from those is bound back read-only (the interpreter and its packages, the project
source of an editable install, the input files, the Hugging Face cache). It may write only to its
working directory, the session's runtime folder (connection file and IPC sockets) and the
SpatialClaw cache (perception results). It has no network (``--unshare-net``: nested VLM calls go
through the host over the Jupyter stdin channel), its own process table (``--unshare-pid``), no
capabilities, and an environment rebuilt from a short list of safe variables (no API keys).

Processes: a pids cgroup caps the kernel's processes and threads when one can be created (as root
here); the kernel joins it through a small ``/bin/sh`` wrapper, which on a restart first kills what
the previous kernel left there. Otherwise a non-root user gets ``RLIMIT_NPROC``. Root is exempt from
``RLIMIT_NPROC``, so as root without a writable cgroup a fork bomb is *not* contained, and the
plan's ``reason`` says so.

bubblewrap is not started with ``--new-session``: that would move the kernel out of the process
group that jupyter_client signals (SIGKILL of a stuck kernel, SIGINT in its signal interrupt
mode). The kernel has no terminal anyway (jupyter_client starts it in a new session, stdin a pipe).
The wrapper makes ``bwrap`` ignore SIGINT, so a SIGINT to the group interrupts the kernel instead
of killing the sandbox (the launcher restores the kernel's own SIGINT handler).
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from spatialclaw.config import hub_cache_dir
from spatialclaw.errors import ConfigError

SANDBOX_MODES = ("auto", "bwrap", "none")

CPU_SECONDS = 4 * 3600  # RLIMIT_CPU of the kernel process (all its threads together), seconds
FILE_SIZE_MB = 4096  # RLIMIT_FSIZE: the largest file the kernel may write, MiB
TMPFS_SIZE = 256 * 1024 * 1024  # bytes each private tmpfs (/tmp, home folders) may hold
PROBE_TIMEOUT_S = 10.0

# The wrapper that starts (and restarts) a kernel in its pids cgroup ($0): it first kills what a
# previous kernel left there (a restart must not inherit a fork bomb's budget), waits up to ~5 s
# for the cgroup to empty, joins it, then execs the rest of the command line.
JOIN_CGROUP = (
    'n=0; while [ -n "$(cat "$0/cgroup.procs")" ] && [ $n -lt 250 ]; do '
    'kill -9 $(cat "$0/cgroup.procs") 2>/dev/null; sleep 0.02; n=$((n + 1)); done; '
    'echo $$ > "$0/cgroup.procs" && exec "$@"'
)

SECRET_ENV = re.compile(r"(^OPENAI_|API_KEY|TOKEN$|TOKEN_|SECRET|PASSWORD|PASSWD|CREDENTIAL|_AUTH$)", re.IGNORECASE)
# What a kernel under bubblewrap keeps of the host's environment (names or name prefixes ending in "_").
SAFE_ENV = (
    "PATH", "LANG", "LANGUAGE", "LC_", "TZ", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUNBUFFERED",
    "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "TORCH_NUM_THREADS", "TOKENIZERS_PARALLELISM",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "CUDA_HOME", "CUDA_PATH",
    "LD_LIBRARY_PATH",
    "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "SPATIALCLAW_",
)

FALLBACK_WARNING = (
    "the kernel runs WITHOUT a sandbox ({why}): only resource limits isolate it from this machine "
    "(model-written code can read your files and reach the network); install bubblewrap "
    "(apt-get install bubblewrap) or pass --sandbox none to silence this"
)

log = logging.getLogger("spatialclaw.kernel.sandbox")

_probe_lock = threading.Lock()
_probe: tuple[bool, str] | None = None
_warned = False


@dataclass
class SandboxPlan:
    """How one kernel is started.

    Attributes:
        kind: ``"bwrap"`` (bubblewrap) or ``"none"`` (resource limits only).
        prefix: words put before the kernel's command line (wrapper, ``bwrap`` and its options).
        env: the environment the command is started with (no secrets).
        reason: one line on why this kind was chosen and what is and is not contained.
        launcher_args: options for ``spatialclaw.kernel.launcher`` (limits other than memory).
        pids_cgroup: the session's pids cgroup folder, or None; removed by `release`.
        max_processes: the cap on the kernel's processes and threads, or None if none could be set.
        requested: the mode asked for (``"auto"``, ``"bwrap"`` or ``"none"``).
    """

    kind: Literal["bwrap", "none"]
    prefix: list[str]
    env: dict[str, str]
    reason: str
    launcher_args: list[str] = field(default_factory=list)
    pids_cgroup: Path | None = None
    max_processes: int | None = None
    requested: str = "auto"

    def info(self) -> dict:
        """What to record about the sandbox (in ``KernelSession.sandbox_info`` and the trajectory)."""
        return {
            "kind": self.kind,
            "requested": self.requested,
            "reason": self.reason,
            "network": self.kind == "none",
            "max_processes": self.max_processes,
            "process_limit": "pids cgroup" if self.pids_cgroup else ("RLIMIT_NPROC" if self.max_processes else None),
            "cpu_seconds": CPU_SECONDS,
            "file_size_mb": FILE_SIZE_MB,
        }

    def reap(self) -> None:
        """Kill whatever is still running in the session's pids cgroup (left behind by a dead kernel)."""
        if self.pids_cgroup is None:
            return
        for _ in range(50):
            pids = _cgroup_pids(self.pids_cgroup)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def release(self) -> None:
        """Kill what is left in the pids cgroup and remove it (call after the kernel is shut down)."""
        if self.pids_cgroup is None:
            return
        self.reap()
        try:
            self.pids_cgroup.rmdir()
        except OSError:
            pass
        self.pids_cgroup = None


def plan_sandbox(
    mode: str,
    *,
    workdir: Path,
    runtime_dir: Path,
    cache_dir: Path,
    read_only_paths: Iterable[Path] = (),
    env: Mapping[str, str] | None = None,
) -> SandboxPlan:
    """The sandbox plan for one kernel.

    Args:
        mode: ``"auto"`` (bubblewrap if it works here, else limits only, with one warning per
            process), ``"bwrap"`` (bubblewrap or a `ConfigError`), or ``"none"``.
        workdir: the kernel's working directory (writable, also its ``$HOME``).
        runtime_dir: the session's private folder: connection file, IPC sockets (writable).
        cache_dir: the SpatialClaw cache (perception results; writable).
        read_only_paths: files or folders the kernel must read (input files, frames file).
        env: the environment to start from; ``os.environ`` if None. Secrets are always dropped.
    """
    if mode not in SANDBOX_MODES:
        raise ConfigError(f"unknown sandbox mode {mode!r}: use one of {', '.join(SANDBOX_MODES)}")
    base = {k: v for k, v in (os.environ if env is None else env).items() if not SECRET_ENV.search(k)}
    kind: Literal["bwrap", "none"] = "none"
    why = "--sandbox none"
    if mode != "none":
        works, why = bwrap_available()
        if works:
            kind = "bwrap"
        elif mode == "bwrap":
            raise ConfigError(f"--sandbox bwrap, but bubblewrap does not work here ({why}): "
                              "install it (apt-get install bubblewrap) or use --sandbox auto")
        else:
            _warn_once(FALLBACK_WARNING.format(why=why))

    cgroup, max_processes = _make_pids_cgroup(runtime_dir.name)
    launcher_args = ["--cpu-seconds", str(CPU_SECONDS), "--file-size-mb", str(FILE_SIZE_MB)]
    process_note = f"processes capped at {max_processes} by a pids cgroup" if cgroup else ""
    if cgroup is None and os.geteuid() != 0:
        max_processes = _user_task_count() + _process_allowance()
        launcher_args += ["--max-processes", str(max_processes)]
        process_note = f"processes capped by RLIMIT_NPROC ({max_processes} for this user)"
    elif cgroup is None:
        max_processes = None
        process_note = "processes NOT capped (root ignores RLIMIT_NPROC and no pids cgroup is writable)"

    prefix: list[str] = []
    if cgroup is not None:
        trap = 'trap "" INT; ' if kind == "bwrap" else ""
        prefix = ["/bin/sh", "-c", trap + JOIN_CGROUP, str(cgroup)]
    elif kind == "bwrap":
        prefix = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh"]

    if kind == "bwrap":
        kernel_env = _kernel_env(base, workdir=workdir, cache_dir=cache_dir)
        prefix += _bwrap_words(
            workdir=workdir, runtime_dir=runtime_dir, cache_dir=cache_dir,
            read_only_paths=read_only_paths, kernel_env=kernel_env,
        )
        reason = f"bubblewrap: read-only file system, no network, no secrets; {process_note}"
        return SandboxPlan("bwrap", prefix, kernel_env, reason, launcher_args, cgroup, max_processes, mode)
    reason = f"no sandbox ({why}): resource limits only, the kernel can read files and use the network; {process_note}"
    return SandboxPlan("none", prefix, base, reason, launcher_args, cgroup, max_processes, mode)


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap can start a sandbox here (probed once per process) and why not."""
    global _probe
    with _probe_lock:
        if _probe is None:
            _probe = _probe_bwrap()
        return _probe


def _probe_bwrap() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bwrap is not installed"
    words = [exe, *_isolation_flags(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--size", str(TMPFS_SIZE), "--tmpfs", "/tmp", "--", "true"]
    try:
        done = subprocess.run(words, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env={"PATH": os.defpath})
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"bwrap failed to run: {err}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return False, f"bwrap cannot create a sandbox: {last}"
    return True, "bwrap works"


def _isolation_flags() -> list[str]:
    flags = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent"]
    if os.geteuid() == 0:
        flags += ["--cap-drop", "ALL"]  # as root bwrap would otherwise keep every capability
    return flags


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("spatialclaw: warning: %s", message)


# ----------------------------------------------------------------------------- bubblewrap words


def hidden_roots() -> list[Path]:
    """Folders replaced by an empty private tmpfs in the sandbox (temporary and home folders)."""
    roots = [Path("/tmp"), Path("/var/tmp"), Path("/run"), Path("/home"), Path("/root"), Path.home()]
    out: list[Path] = []
    for root in roots:
        if not root.is_dir() or root.is_symlink():
            continue
        real = root.resolve()
        if real != Path("/") and not any(_under(real, kept) for kept in out):
            out = [kept for kept in out if not _under(kept, real)] + [real]
    return sorted(out, key=lambda p: len(p.parts))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _bwrap_words(
    *,
    workdir: Path,
    runtime_dir: Path,
    cache_dir: Path,
    read_only_paths: Iterable[Path],
    kernel_env: Mapping[str, str],
) -> list[str]:
    exe = shutil.which("bwrap") or "bwrap"
    words = [exe, *_isolation_flags(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for device in sorted(glob.glob("/dev/nvidia*")) + sorted(glob.glob("/dev/dri")):
        words += ["--dev-bind", device, device]
    hidden = hidden_roots()
    for root in hidden:
        words += ["--size", str(TMPFS_SIZE), "--tmpfs", str(root)]

    def bind_back(paths: Iterable[Path], option: str, *, only_hidden: bool) -> None:
        """Bind each path where it is (and a symlink's target at the link), outermost first.

        Read-only paths are bound only where a tmpfs hid them: elsewhere ``/`` shows them already.
        """
        pairs = set()
        for given in paths:
            source = Path(given).resolve()
            if source.exists():
                pairs.update({(source, source), (source, Path(os.path.abspath(given)))})
        seen: set[Path] = set()
        for source, dest in sorted(pairs, key=lambda pair: (len(pair[1].parts), str(pair[1]))):
            if any(_under(dest, s) for s in seen) or (only_hidden and not any(_under(dest, r) for r in hidden)):
                continue
            seen.add(dest)
            words.extend([option, str(source), str(dest)])

    bind_back([*_runtime_paths(), *read_only_paths, *_hub_cache(kernel_env)], "--ro-bind", only_hidden=True)
    bind_back([workdir, runtime_dir, cache_dir], "--bind", only_hidden=False)
    words += ["--chdir", str(Path(workdir).resolve()), "--clearenv"]
    for key, value in kernel_env.items():
        words += ["--setenv", key, value]
    words.append("--")
    return words


def _runtime_paths() -> list[Path]:
    """What the kernel's interpreter needs: its prefixes, sys.path, and where spatialclaw's code lives."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    paths.update(Path(p) for p in sys.path if p)
    for name in ("spatialclaw", "spatialclaw.primitives"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            paths.update(Path(p) for p in spec.submodule_search_locations)
    return sorted(paths)


def _hub_cache(env: Mapping[str, str]) -> list[Path]:
    hub = env.get("HF_HUB_CACHE")
    return [Path(hub)] if hub else []


def _kernel_env(base: Mapping[str, str], *, workdir: Path, cache_dir: Path) -> dict[str, str]:
    """The kernel's whole environment under bubblewrap: safe variables of ``base`` plus its own."""
    env = {k: v for k, v in base.items() if any(k == s or (s.endswith("_") and k.startswith(s)) for s in SAFE_ENV)}
    env = {k: v for k, v in env.items() if not SECRET_ENV.search(k)}
    env.setdefault("PATH", os.defpath)
    home = str(Path(workdir).resolve())
    env.update(HOME=home, TMPDIR="/tmp", SPATIALCLAW_CACHE=str(Path(cache_dir).resolve()), HF_HUB_OFFLINE="1")
    env["MPLCONFIGDIR"] = str(Path(cache_dir).resolve() / "matplotlib")  # font cache kept across sessions
    hub = hub_cache_dir(base)
    if hub.is_dir():
        env["HF_HUB_CACHE"] = str(hub.resolve())
    return env


# ----------------------------------------------------------------------------- process limits


def _process_allowance() -> int:
    """Processes and threads one kernel may add: enough for thread pools on big machines."""
    return max(512, 8 * (os.cpu_count() or 1))


def _user_task_count() -> int:
    """Tasks (processes and threads) this user runs now: what RLIMIT_NPROC counts."""
    uid, total = os.getuid(), 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            text = Path(status).read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            total += int(fields.get("Threads", "1").strip())
    return total


def _pids_hierarchy() -> Path | None:
    """This process's cgroup folder in a hierarchy with the pids controller (v1 or v2), if any."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if " - " not in line:
            continue
        mount_point = fields[4]
        fstype, _, options = line.split(" - ", 1)[1].split()[:3]
        if fstype == "cgroup" and "pids" in options.split(","):
            for entry in own:
                hid, controllers, path = entry.split(":", 2)
                if "pids" in controllers.split(","):
                    return Path(mount_point) / path.lstrip("/")
        if fstype == "cgroup2":
            for entry in own:
                if entry.startswith("0::"):
                    folder = Path(mount_point) / entry[3:].lstrip("/")
                    try:
                        if "pids" in (folder / "cgroup.subtree_control").read_text().split():
                            return folder
                    except OSError:
                        pass
    return None


def _make_pids_cgroup(name: str) -> tuple[Path | None, int | None]:
    """A fresh pids cgroup for one kernel, capped at `_process_allowance`; (None, None) if none can be made."""
    if os.geteuid() != 0:
        return None, None
    parent = _pids_hierarchy()
    if parent is None:
        return None, None
    _remove_stale_cgroups(parent)
    folder = parent / f"spatialclaw-{os.getpid()}-{name}"
    limit = _process_allowance()
    try:
        folder.mkdir()
    except OSError:
        return None, None
    try:
        (folder / "pids.max").write_text(str(limit))
        if not os.access(folder / "cgroup.procs", os.W_OK):
            raise OSError("cgroup.procs is not writable")
    except OSError:
        try:
            folder.rmdir()
        except OSError:
            pass
        return None, None
    return folder, limit


def _remove_stale_cgroups(parent: Path) -> None:
    """Remove the cgroups of sessions whose host process is gone (killed before it could clean up)."""
    for folder in parent.glob("spatialclaw-*-*"):
        try:
            owner = int(folder.name.split("-")[1])
            os.kill(owner, 0)
            continue  # the owner is alive
        except ProcessLookupError:
            pass
        except (ValueError, OSError):
            continue
        SandboxPlan("none", [], {}, "", pids_cgroup=folder).release()


def _cgroup_pids(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []
