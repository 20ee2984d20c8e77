"""Start an ipykernel with resource limits set inside the kernel process.

``python -m spatialclaw.kernel.launcher [--memory-mb N] [--cpu-seconds S] [--file-size-mb F]
[--max-processes P] -- IPYKERNEL_ARGS...`` sets the limits of the current process, then runs
ipykernel in the same process with ``IPYKERNEL_ARGS`` (e.g. ``-f CONNECTION_FILE``). The limits
are inherited by anything the kernel spawns. Because they are set by the kernel's own command
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
import glob
import os
import resource
import signal
import sys


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


def main(argv: list[str] | None = None) -> None:
    """Parse the launcher's own options, apply the limits, and run ipykernel with the rest."""
    parser = argparse.ArgumentParser(prog="python -m spatialclaw.kernel.launcher")
    parser.add_argument("--memory-mb", type=int, default=None, help="memory limit in MiB (none if omitted)")
    parser.add_argument("--cpu-seconds", type=int, default=None, help="CPU-time limit in seconds (none if omitted)")
    parser.add_argument("--file-size-mb", type=int, default=None, help="largest file the kernel may write, MiB")
    parser.add_argument("--max-processes", type=int, default=None, help="RLIMIT_NPROC (processes and threads of the user)")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER, help="arguments for ipykernel, after --")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kernel_args = args.kernel_args[1:] if args.kernel_args[:1] == ["--"] else args.kernel_args
    notices = limit_resources(
        memory_mb=args.memory_mb,
        cpu_seconds=args.cpu_seconds,
        file_size_mb=args.file_size_mb,
        max_processes=args.max_processes,
    )
    for notice in notices:
        print(f"spatialclaw.kernel.launcher: {notice}", file=sys.stderr, flush=True)
    # A sandbox wrapper may start us with SIGINT ignored (so that an interrupt does not kill it);
    # the kernel itself must get KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
