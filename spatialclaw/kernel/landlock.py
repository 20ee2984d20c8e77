"""Landlock for a kernel started without bubblewrap: no TCP, no reaching out of the session by
abstract unix sockets or signals.

Without bubblewrap there is no network namespace: the kernel would reach every TCP server, the
host's included (``127.0.0.1``), and every abstract unix socket on the machine. Where the OS
kernel has Landlock (an unprivileged security module), `restrict_self` makes this process and
everything it starts refuse, for good:

- TCP ``connect`` and ``bind`` on any port (Landlock ABI 4, Linux 6.7): no rule allows one;
- connecting to an abstract unix socket made outside the session, and signalling a process
  outside it (ABI 6, Linux 6.12).

UDP, ICMP and pathname unix sockets are not covered by Landlock (the kernel's Jupyter sockets are
pathname ones). `available` says what this machine's Landlock covers; with no Landlock at all it
is empty and the sandbox says the network is reachable. `restrict_self` sets no-new-privileges
first; call it while the process runs one thread (Landlock applies to the calling thread).
"""

from __future__ import annotations

import ctypes
import struct

SYS_CREATE_RULESET, SYS_RESTRICT_SELF = 444, 446  # the same number on every architecture (Linux 5.13+)
CREATE_RULESET_VERSION = 1
ACCESS_NET_BIND_TCP, ACCESS_NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
NET_ABI, SCOPE_ABI = 4, 6
PR_SET_NO_NEW_PRIVS = 38


def abi_version() -> int:
    """The Landlock ABI of the running OS kernel (0: none, or disabled at boot)."""
    version = ctypes.CDLL(None, use_errno=True).syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    return max(0, int(version))


def available(abi: int | None = None) -> list[str]:
    """What `restrict_self` refuses on a machine with Landlock ``abi`` (this one's if None)."""
    abi = abi_version() if abi is None else abi
    return (["TCP"] if abi >= NET_ABI else []) + (["abstract unix sockets", "signals"] if abi >= SCOPE_ABI else [])


def restrict_self() -> list[str]:
    """Refuse TCP and out-of-session abstract sockets and signals to this process and its children.

    Returns what is refused (empty where Landlock cannot); raises OSError if Landlock is there but
    refuses to apply (e.g. no-new-privileges is not set).
    """
    abi = abi_version()
    covered = available(abi)
    if not covered:
        return []
    net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP
    attr = struct.pack("<QQQ", 0, net, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= SCOPE_ABI else struct.pack(
        "<QQ", 0, net)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(SYS_CREATE_RULESET, buffer, len(attr), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        if libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        libc.close(ruleset)
    return covered
