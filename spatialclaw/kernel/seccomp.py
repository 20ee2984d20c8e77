"""A seccomp filter for the kernel: no new user namespaces.

An unprivileged process may create a user namespace (``unshare -U``) and be "root" inside it,
which widens what kernel bugs it can reach. The filter is applied to the kernel and everything
it starts (by bubblewrap's ``--seccomp FD``, or by the launcher itself without bubblewrap,
`install_filter`): ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with EPERM, ``clone3``
(whose flags a filter cannot read) fails with ENOSYS so that the C library falls back to
``clone``, and system calls of any other ABI (x32, or i386 through ``int 0x80`` on x86_64,
whose numbers differ) fail with EPERM. Everything else is allowed.

Architectures: the filter knows the system call numbers of x86_64 and aarch64 (`ARCHES`).
`filter_program` returns None on any other ABI (`native_abi` says which one this interpreter
uses: a 32-bit Python on a 64-bit machine is not the machine's ABI); the sandbox then runs
without the filter and warns that user namespaces are not blocked there.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
X32_SYSCALL_BIT = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
# ABI → (AUDIT_ARCH value, unshare, clone, clone3); both are little-endian with flags in argument 0.
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}
# ABI → add_key, request_key, keyctl, shmget, semget, msgget, mq_open: refused to a kernel that has
# to stay root. Root's user keyring is every root process's, and what it would create in System V
# IPC or the message-queue file system belongs to root like the host's own, so nothing could tell
# it apart at the end of the session to remove it.
HOST_WIDE_CALLS = {"x86_64": (248, 249, 250, 29, 64, 68, 240), "aarch64": (217, 218, 219, 194, 190, 186, 180)}

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000


def native_abi(machine: str | None = None, pointer_bytes: int | None = None) -> str:
    """The system call ABI of this interpreter: ``platform.machine()``, except that a 32-bit
    Python on a 64-bit kernel is named for its 32-bit ABI (``"i686"``, ``"armv7l"``)."""
    machine = machine or platform.machine()
    pointer_bytes = pointer_bytes or struct.calcsize("P")
    if pointer_bytes == 4:
        return {"x86_64": "i686", "aarch64": "armv7l"}.get(machine, machine)
    return machine


def filter_program(abi: str | None = None, *, stays_root: bool = False) -> bytes | None:
    """The BPF program (``struct sock_filter`` array) for ``abi`` (`native_abi` if None), or None
    if its system call numbers are not known here; ``stays_root`` also refuses (EPERM) keyrings,
    System V IPC and message queues (`HOST_WIDE_CALLS`)."""
    abi = abi or native_abi()
    arch = ARCHES.get(abi)
    if arch is None:
        return None
    audit_arch, unshare, clone, clone3 = arch
    host_wide = HOST_WIDE_CALLS[abi] if stays_root else ()
    program: list[tuple[int, int | str, int | str, int]] = [
        (_LD_ABS_W, 0, 0, 4),                    # A = arch
        (_JEQ, 0, "eperm", audit_arch),          # another ABI -> EPERM
        (_LD_ABS_W, 0, 0, 0),                    # A = syscall number
        (_JGE, "eperm", 0, X32_SYSCALL_BIT),     # x32 -> EPERM
        (_JEQ, "enosys", 0, clone3),             # clone3 -> ENOSYS (the C library falls back to clone)
        *[(_JEQ, "eperm", 0, number) for number in host_wide],
        (_JEQ, "flags", 0, unshare),
        (_JEQ, "flags", 0, clone),
        (_RET, 0, 0, _ALLOW),
        ("flags", _LD_ABS_W, 0, 0, 16),          # A = low 32 bits of argument 0 (flags)
        (_JSET, "eperm", 0, CLONE_NEWUSER),      # CLONE_NEWUSER -> EPERM
        (_RET, 0, 0, _ALLOW),
        ("eperm", _RET, 0, 0, _ERRNO | errno.EPERM),
        ("enosys", _RET, 0, 0, _ERRNO | errno.ENOSYS),
    ]
    return _assemble(program)


def _assemble(program: list[tuple]) -> bytes:
    """Pack instructions ``(code, jt, jf, k)`` (an optional label first; jumps may name a label)."""
    labels = {item[0]: at for at, item in enumerate(program) if isinstance(item[0], str)}
    out = []
    for at, item in enumerate(program):
        code, jt, jf, k = item[1:] if isinstance(item[0], str) else item
        jt, jf = (labels[j] - at - 1 if isinstance(j, str) else j for j in (jt, jf))
        out.append(struct.pack("<HBBI", code, jt, jf, k))
    return b"".join(out)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(program: bytes) -> None:
    """Apply ``program`` to this process and everything it starts from now on (sets
    no-new-privileges first, as an unprivileged process must). Raises OSError if refused."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(SECCOMP_MODE_FILTER) failed")
