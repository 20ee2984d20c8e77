"""bubblewrap for the kernel: whether it works here, and the command line that builds its root.

`bwrap_words` gives the ``bwrap ... --`` words for one kernel: a root built from nothing with the
system folders (`SYSTEM_FOLDERS`) read-only, the interpreter and its packages (`runtime_paths`,
never ``sys.path`` as a whole: it holds the host's current folder with ``python -m``), the paths
asked for read-only or writable (each bound where it is; an input's session copy bound where the
input is), a private size-limited ``/tmp`` and ``/dev/shm``, ``/proc/sys`` read-only, GPUs where
present, no network and its own process table, IPC and host name. `bwrap_available` probes once
per process and uid whether bubblewrap can run here. The policy (which paths, which uid) is
`spatialclaw.kernel.sandbox`'s.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

TMPFS_SIZE = 256 * 1024 * 1024  # bytes the private /tmp may hold
SHM_SIZE = 64 * 1024 * 1024  # bytes the private /dev/shm may hold
PROBE_TIMEOUT_S = 10.0
SYSTEM_FOLDERS = ("/usr", "/etc", "/sys", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
KERNEL_TMP = Path("/tmp")

_probe_lock = threading.Lock()
_probe: dict[str, tuple[bool, str]] = {}


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap can start a sandbox here (probed once per process and uid) and why not."""
    key = f"{shutil.which('bwrap')}:{os.geteuid()}"
    with _probe_lock:
        if key not in _probe:
            _probe[key] = _probe_bwrap()
        return _probe[key]


def _probe_bwrap() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "bwrap is not installed"
    words = [exe, *isolation_flags(drop_uid=os.geteuid() == 0), *_system_words(), "--dev", "/dev", "--proc", "/proc",
             "--ro-bind", "/proc/sys", "/proc/sys", "--size", str(TMPFS_SIZE), "--tmpfs", "/tmp", "--", "true"]
    try:
        done = subprocess.run(words, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env={"PATH": os.defpath})
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"bwrap failed to run: {err}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return False, f"bwrap cannot create a sandbox: {last}"
    return True, "bwrap works"


def isolation_flags(*, drop_uid: bool) -> list[str]:
    """Namespaces and (as root) capabilities: all dropped but what the launcher needs to drop its uid."""
    flags = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent"]
    if os.geteuid() == 0:
        # As root bwrap would keep every capability: keep only what the launcher needs to drop its uid.
        flags += ["--cap-drop", "ALL"]
        if drop_uid:
            flags += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return flags


def _system_words() -> list[str]:
    """The system folders, read-only; top-level symlinks (merged /usr) recreated as links."""
    words: list[str] = []
    for folder in SYSTEM_FOLDERS:
        path = Path(folder)
        if path.is_symlink():
            words += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            words += ["--ro-bind", folder, folder]
    return words


def bwrap_words(
    read_only: Iterable[Path], writable: Iterable[Path], env: Mapping[str, str], *, drop_uid: bool,
    seccomp_fd: int | None = None, copies: Mapping[Path, Path] | None = None,
) -> list[str]:
    """The ``bwrap ... --`` words for one kernel: the interpreter's folders (`runtime_paths`) and
    ``read_only`` bound read-only, ``writable`` bound writable, ``env`` its whole environment.

    Args:
        drop_uid: keep CAP_SETUID/CAP_SETGID (as root) for the launcher to drop to the session uid.
        seccomp_fd: an open file descriptor holding the seccomp filter, or None.
        copies: input → its session copy, bound read-only where the input is.
    """
    exe = shutil.which("bwrap") or "bwrap"
    words = [exe, *isolation_flags(drop_uid=drop_uid), *_system_words(), "--dev", "/dev"]
    if seccomp_fd is not None:
        words += ["--seccomp", str(seccomp_fd)]
    for device in _gpu_devices():
        words += ["--dev-bind", device, device]
    words += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys"]
    words += ["--size", str(TMPFS_SIZE), "--perms", "1777", "--tmpfs", str(KERNEL_TMP)]
    words += ["--size", str(SHM_SIZE), "--perms", "1777", "--tmpfs", "/dev/shm"]
    read_only = [*runtime_paths(), *library_paths(env), *read_only]
    binds = _binds(read_only, "--ro-bind", copies or {}) + _binds(writable, "--bind")
    words += _parent_dirs(dest for _, _, dest in binds)
    for option, source, dest in binds:
        words += [option, source, dest]
    words += ["--chdir", "/", "--clearenv"]  # the launcher enters the workdir as the kernel's uid
    for key, value in env.items():
        words += ["--setenv", key, value]
    words.append("--")
    return words


def _gpu_devices() -> list[str]:
    import glob

    return sorted(glob.glob("/dev/nvidia*")) + sorted(glob.glob("/dev/dri"))


def _binds(paths: Iterable[Path], option: str, copies: Mapping[Path, Path] | None = None) -> list[tuple[str, str, str]]:
    """(option, source, destination) per existing path, bound where it is (and, for a symlink,
    its target at the link too), outermost first; paths inside an already bound folder are skipped
    (a writable bind is never hidden by a read-only one, nor the other way round). A path in
    ``copies`` (absolute, as given) is bound from its copy instead, at both places."""
    copies = copies or {}
    pairs: set[tuple[Path, Path]] = set()
    for given in paths:
        source = Path(given).resolve()
        if source.exists() and not is_within(source, Path("/proc")):
            origin = copies.get(Path(os.path.abspath(given)), source)
            pairs.update({(origin, source), (origin, Path(os.path.abspath(given)))})
    out: list[tuple[str, str, str]] = []
    system = [Path(f) for f in SYSTEM_FOLDERS]
    for source, dest in sorted(pairs, key=lambda pair: (len(pair[1].parts), str(pair[1]))):
        if option == "--ro-bind" and source == dest and any(is_within(dest, s) for s in system):
            continue  # already visible read-only
        if any(is_within(dest, Path(d)) for _, _, d in out):
            continue
        out.append((option, str(source), str(dest)))
    return out


def _parent_dirs(destinations: Iterable[str]) -> list[str]:
    """``--dir`` words (mode 0755) for every missing parent of the bind destinations, so that the
    unprivileged kernel can traverse to them (bubblewrap would create them 0700)."""
    made: set[Path] = {Path("/"), KERNEL_TMP, Path("/dev"), Path("/proc")}
    words: list[str] = []
    for dest in destinations:
        for parent in reversed(Path(dest).parents):
            if parent in made or any(is_within(parent, Path(f)) for f in SYSTEM_FOLDERS):
                continue
            made.add(parent)
            words += ["--perms", "0755", "--dir", str(parent)]
    return words


def is_within(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or inside it (no file system access)."""
    return path == root or root in path.parents


def runtime_paths() -> list[Path]:
    """What the kernel's interpreter needs: its prefixes, its installed packages, and the source
    folders of SpatialClaw's packages (editable installs). Not ``sys.path`` as a whole: that
    holds the host's current folder when run as ``python -m``."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        location = sysconfig.get_paths().get(key)
        if location:
            paths.add(Path(location))
    for name in ("spatialclaw", "spatialclaw.primitives", "spatialclaw.prompts"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            paths.update(Path(p) for p in spec.submodule_search_locations)
    return sorted(p for p in paths if p != Path("/"))


def library_paths(env: Mapping[str, str]) -> list[Path]:
    """Folders of ``LD_LIBRARY_PATH`` and ``CUDA_HOME``/``CUDA_PATH`` that exist (GPU libraries)."""
    found: list[Path] = []
    for name in ("LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH"):
        for entry in env.get(name, "").split(":"):
            if entry and os.path.isabs(entry) and Path(entry).is_dir() and Path(entry) != Path("/"):
                found.append(Path(entry))
    return found
