"""A seccomp filter for the kernel: no new user namespaces.

An unprivileged process may create a user namespace (``unshare -U``) and be "root" inside it,
which widens what kernel bugs it can reach. bubblewrap applies this filter (``--seccomp FD``) to
the kernel and everything it starts: ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with
EPERM, ``clone3`` (whose flags a filter cannot read) fails with ENOSYS so that the C library
falls back to ``clone``, and x32 system calls are refused. Everything else is allowed.

`filter_program` returns the classic BPF program as bytes (``struct sock_filter`` array); None
on an architecture it does not know (the sandbox then goes without it and says so).
"""

from __future__ import annotations

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
X32_SYSCALL_BIT = 0x40000000
# machine → (AUDIT_ARCH value, unshare, clone, clone3)
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000


def filter_program(machine: str | None = None) -> bytes | None:
    """The BPF program for ``machine`` (``platform.machine()`` if None), or None if unknown."""
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, unshare, clone, clone3 = arch
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    program = [
        (_LD_ABS_W, 0, 0, 4),                 # 0: A = arch
        (_JEQ, 0, 9, audit_arch),             # 1: other arch -> allow (11)
        (_LD_ABS_W, 0, 0, 0),                 # 2: A = syscall number
        (_JGE, 9, 0, X32_SYSCALL_BIT),        # 3: x32 -> EPERM (13)
        (_JEQ, 9, 0, clone3),                 # 4: clone3 -> ENOSYS (14)
        (_JEQ, 2, 0, unshare),                # 5: unshare -> check flags (8)
        (_JEQ, 1, 0, clone),                  # 6: clone -> check flags (8)
        (_RET, 0, 0, _ALLOW),                 # 7
        (_LD_ABS_W, 0, 0, 16),                # 8: A = low 32 bits of argument 0 (flags)
        (_JSET, 3, 0, CLONE_NEWUSER),         # 9: CLONE_NEWUSER -> EPERM (13)
        (_RET, 0, 0, _ALLOW),                 # 10
        (_RET, 0, 0, _ALLOW),                 # 11
        (_RET, 0, 0, _ALLOW),                 # 12
        (_RET, 0, 0, eperm),                  # 13
        (_RET, 0, 0, enosys),                 # 14
    ]
    return b"".join(struct.pack("<HBBI", code, jt, jf, k) for code, jt, jf, k in program)
