"""Start an ipykernel with resource limits set inside the kernel process.

``python -m spatialclaw.kernel.launcher [--memory-mb N] [--cpu-seconds S] [--file-size-mb F]
[--max-processes P] [--new-keyring] [--uid U --gid G] [--seccomp] [--landlock] -- IPYKERNEL_ARGS...`` sets the
limits of the current process, joins a fresh session keyring, drops to the unprivileged uid/gid
U/G (no supplementary groups, no-new-privileges, and it checks that no capability is left: it
exits rather than run a kernel with privileges), applies the seccomp filter that refuses new
user namespaces (`spatialclaw.kernel.seccomp`; bubblewrap applies it itself, so the option is
for kernels started without it) and, with ``--landlock``, refuses TCP and reaching out of the
session by abstract unix sockets or signals (`spatialclaw.kernel.landlock`, where the OS kernel
has it; with ``--writable DIR``, any change to the file system outside those folders too, and
with ``--readable PATH``, reading outside those paths and the writable ones). A kernel
that has to stay uid 0 gets ``--drop-capabilities``: no capability now or after any ``execve``.
Then it runs ipykernel in the same process with
``IPYKERNEL_ARGS`` (e.g. ``-f CONNECTION_FILE``). All of this happens before any model code
runs, and is inherited by anything the kernel spawns. The kernel is also made a child
subreaper, so orphans of its children stay its descendants and the host can find and stop them. Because they are set by the kernel's own command
line, a sandbox wrapper (e.g. ``bwrap ... python -m spatialclaw.kernel.launcher ...``) can be put
in front of it unchanged.

What each limit does when model-written code crosses it:

- memory: an allocation fails with ``MemoryError`` (the kernel lives on). The limit is the
  address space (``RLIMIT_AS``), except where a CUDA device may be used (``/dev/nvidia*`` exists
  and ``CUDA_VISIBLE_DEVICES`` does not hide every device): CUDA reserves far more address space
  than it uses, so there the limit is the data segment (``RLIMIT_DATA``, which counts private
  writable mappings, i.e. what numpy and torch allocate on the CPU, but not CUDA's reservations).
- CPU time (``RLIMIT_CPU``, all threads together): the kernel is killed by SIGXCPU and the host
  restarts it. Meant as a generous backstop; cell time limits are the host's job.
- file size (``RLIMIT_FSIZE``): a write past it fails with ``OSError`` (EFBIG; Python ignores SIGXFSZ).
- processes (``RLIMIT_NPROC``, counted per user, ignored for root): ``fork`` / thread creation
  fail with ``BlockingIOError`` / ``RuntimeError``. As root the sandbox uses a pids cgroup instead.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import platform
import resource
import signal
import sys
from pathlib import Path

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
# NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, each with its lock, and KEEP_CAPS locked off
SECUREBITS_NO_ROOT_POWERS = 0b11101111
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "ppc64le": 271, "s390x": 280}


def limit_memory(megabytes: int, *, data_only: bool = False) -> None:
    """Cap this process's address space (or, with ``data_only``, its data segment) at ``megabytes`` MiB."""
    _lower(resource.RLIMIT_DATA if data_only else resource.RLIMIT_AS, int(megabytes) * 1024 * 1024)


def cuda_may_be_used() -> bool:
    """A CUDA device node exists and ``CUDA_VISIBLE_DEVICES`` does not hide all devices (cheap, no torch)."""
    if not glob.glob("/dev/nvidia[0-9]*"):
        return False
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible is None or visible.strip() not in ("", "-1")


def limit_resources(
    *,
    memory_mb: int | None = None,
    cpu_seconds: int | None = None,
    file_size_mb: int | None = None,
    max_processes: int | None = None,
) -> list[str]:
    """Set the given limits on this process (None leaves one as it is); returns notices about choices made."""
    notices = []
    if memory_mb is not None:
        data_only = cuda_may_be_used()
        limit_memory(memory_mb, data_only=data_only)
        if data_only:
            notices.append(f"a CUDA device is visible: memory limit of {memory_mb} MiB set on RLIMIT_DATA, not RLIMIT_AS")
    if cpu_seconds is not None:
        # The soft limit sends SIGXCPU (terminates the kernel); the hard one a SIGKILL a minute later.
        _lower(resource.RLIMIT_CPU, int(cpu_seconds), hard_extra=60)
    if file_size_mb is not None:
        _lower(resource.RLIMIT_FSIZE, int(file_size_mb) * 1024 * 1024)
    _lower(resource.RLIMIT_CORE, 0)  # no core files: they would land in the working folder
    if max_processes is not None:
        _lower(resource.RLIMIT_NPROC, int(max_processes))
        if os.geteuid() == 0:
            notices.append("running as root: the kernel ignores RLIMIT_NPROC, processes are not capped by it")
    return notices


def _lower(which: int, limit: int, *, hard_extra: int = 0) -> None:
    """Set the soft limit to ``limit`` and the hard one to ``limit + hard_extra``, never above the current hard one."""
    _, hard = resource.getrlimit(which)
    new_hard = limit + hard_extra
    if hard != resource.RLIM_INFINITY:
        limit, new_hard = min(limit, hard), min(new_hard, hard)
    resource.setrlimit(which, (limit, new_hard))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def join_new_keyring() -> None:
    """Replace this process's session keyring by a fresh anonymous one (keys added by a cell stay
    in it and die with the session; the host's keyring is out of reach)."""
    number = SYS_KEYCTL.get(platform.machine())
    if number is None:
        raise OSError(f"no keyctl syscall number known for {platform.machine()}")
    if _libc().syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        raise OSError(ctypes.get_errno(), "keyctl(JOIN_SESSION_KEYRING) failed")


def _clear_capabilities() -> None:
    """Empty the effective, permitted and inheritable capability sets (capset, version 3)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if _libc().capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def drop_root_capabilities() -> None:
    """Stay uid 0 but hold no capability, now or after any ``execve`` (securebits locked, the
    bounding set emptied); raises PermissionError if one is left. For a kernel that cannot drop root."""
    libc = _libc()
    if libc.prctl(PR_SET_SECUREBITS, SECUREBITS_NO_ROOT_POWERS, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(SET_SECUREBITS) failed")
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for capability in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(CAPBSET_DROP, {capability}) failed")
    _clear_capabilities()
    left = _capabilities_left(("CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"))
    if left:
        raise PermissionError(f"the kernel still holds capabilities: {', '.join(left)}")


def _capabilities_left(names: tuple[str, ...]) -> list[str]:
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    return [name for name in names if int(status.get(name, "0").strip() or "0", 16)]


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good (no supplementary groups, no-new-privileges); raises
    PermissionError if any capability is left afterwards."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _clear_capabilities()
    _libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc/self files belong to it again
    if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    left = _capabilities_left(("CapInh", "CapPrm", "CapEff", "CapAmb"))
    if os.getresuid() != (uid, uid, uid) or left:
        raise PermissionError(f"the kernel still holds privileges after dropping to uid {uid}: {', '.join(left)}")


def _block_user_namespaces() -> None:
    from spatialclaw.kernel.seccomp import filter_program, install_filter, native_abi

    program = filter_program(stays_root=os.geteuid() == 0)  # root's keyring and IPC are the host's
    if program is None:
        raise OSError(f"no seccomp filter for the {native_abi()} system call ABI")
    install_filter(program)


def main(argv: list[str] | None = None) -> None:
    """Parse the launcher's own options, apply the limits, and run ipykernel with the rest."""
    parser = argparse.ArgumentParser(prog="python -m spatialclaw.kernel.launcher")
    parser.add_argument("--memory-mb", type=int, default=None, help="memory limit in MiB (none if omitted)")
    parser.add_argument("--cpu-seconds", type=int, default=None, help="CPU-time limit in seconds (none if omitted)")
    parser.add_argument("--file-size-mb", type=int, default=None, help="largest file the kernel may write, MiB")
    parser.add_argument("--max-processes", type=int, default=None, help="RLIMIT_NPROC (processes and threads of the user)")
    parser.add_argument("--new-keyring", action="store_true", help="join a fresh session keyring")
    parser.add_argument("--uid", type=int, default=None, help="drop to this unprivileged uid before the kernel starts")
    parser.add_argument("--gid", type=int, default=None, help="and this gid (default: the uid)")
    parser.add_argument("--seccomp", action="store_true", help="refuse new user namespaces (seccomp filter)")
    parser.add_argument("--landlock", action="store_true", help="refuse TCP, outside abstract sockets and signals (Landlock)")
    parser.add_argument("--drop-capabilities", action="store_true", help="stay uid 0 but without any capability")
    parser.add_argument("--writable", action="append", default=[], help="with --landlock: the only folders it may change")
    parser.add_argument("--readable", action="append", default=[], help="with --landlock: the only paths it may read, besides")
    parser.add_argument("--chdir", default=None, help="working directory, entered after dropping privileges")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER, help="arguments for ipykernel, after --")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kernel_args = args.kernel_args[1:] if args.kernel_args[:1] == ["--"] else args.kernel_args
    notices = limit_resources(
        memory_mb=args.memory_mb,
        cpu_seconds=args.cpu_seconds,
        file_size_mb=args.file_size_mb,
        max_processes=args.max_processes,
    )
    try:
        if args.new_keyring:
            join_new_keyring()
        if args.uid is not None:
            drop_privileges(args.uid, args.uid if args.gid is None else args.gid)
        if args.drop_capabilities:
            drop_root_capabilities()
        if args.seccomp:
            _block_user_namespaces()
        if args.landlock:
            from spatialclaw.kernel.landlock import restrict_self

            restrict_self([Path(p) for p in args.writable], [Path(p) for p in args.readable])
        if args.chdir is not None:
            os.chdir(args.chdir)
    except OSError as err:  # never run model code with the host's privileges or keyring
        print(f"spatialclaw.kernel.launcher: cannot isolate the kernel: {err}", file=sys.stderr, flush=True)
        raise SystemExit(126) from None
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for notice in notices:
        print(f"spatialclaw.kernel.launcher: {notice}", file=sys.stderr, flush=True)
    # A sandbox wrapper may start us with SIGINT ignored (so that an interrupt does not kill it);
    # the kernel itself must get KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", "--IPKernelApp.ignore_cwd=True", *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
