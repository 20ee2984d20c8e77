"""Start an ipykernel with resource limits set inside the kernel process.

``python -m spatialclaw.kernel_launcher [--memory-mb N] -- IPYKERNEL_ARGS...`` sets the address
space limit (``RLIMIT_AS``) of the current process, then runs ipykernel in the same process with
``IPYKERNEL_ARGS`` (e.g. ``-f CONNECTION_FILE``). The limit is inherited by anything the kernel
spawns. Because the limit is set by the kernel's own command line, a sandbox wrapper (e.g.
``bwrap ... python -m spatialclaw.kernel_launcher ...``) can be put in front of it unchanged.
"""

from __future__ import annotations

import argparse
import resource
import sys


def limit_memory(megabytes: int) -> None:
    """Cap this process's virtual address space at ``megabytes`` MiB (allocations beyond fail)."""
    limit = int(megabytes) * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str] | None = None) -> None:
    """Parse the launcher's own options, apply the limits, and run ipykernel with the rest."""
    parser = argparse.ArgumentParser(prog="python -m spatialclaw.kernel_launcher")
    parser.add_argument("--memory-mb", type=int, default=None, help="address-space limit in MiB (none if omitted)")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER, help="arguments for ipykernel, after --")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    kernel_args = args.kernel_args[1:] if args.kernel_args[:1] == ["--"] else args.kernel_args
    if args.memory_mb is not None:
        limit_memory(args.memory_mb)

    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
