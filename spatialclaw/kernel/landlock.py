"""Landlock for a kernel started without bubblewrap: no TCP, no reaching out of the session by
abstract unix sockets or signals.

Without bubblewrap there is no network namespace: the kernel would reach every TCP server, the
host's included (``127.0.0.1``), and every abstract unix socket on the machine. Where the OS
kernel has Landlock (an unprivileged security module), `restrict_self` makes this process and
everything it starts refuse, for good:

- TCP ``connect`` and ``bind`` on any port (Landlock ABI 4, Linux 6.7): no rule allows one;
- connecting to an abstract unix socket made outside the session, and signalling a process
  outside it (ABI 6, Linux 6.12);
- for a kernel that has to stay root (see `spatialclaw.kernel.sandbox`), any change to the file
  system outside the session's writable folders (ABI 1, Linux 5.13): root's files, ``/proc/sys``
  and ``/sys`` included.

UDP, ICMP and pathname unix sockets are not covered by Landlock (the kernel's Jupyter sockets are
pathname ones). `available` says what this machine's Landlock covers; with no Landlock at all it
is empty and the sandbox says the network is reachable. `restrict_self` sets no-new-privileges
first; call it while the process runs one thread (Landlock applies to the calling thread).
"""

from __future__ import annotations

import ctypes
import glob
import os
import stat
import struct
from collections.abc import Sequence
from pathlib import Path

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture (Linux 5.13+)
RULE_PATH_BENEATH = 1
ACCESS_FS_EXECUTE, ACCESS_FS_WRITE_FILE, ACCESS_FS_READ_FILE, ACCESS_FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ACCESS_FS_REFER, ACCESS_FS_TRUNCATE = 1 << 13, 1 << 14
READ_RIGHTS = ACCESS_FS_EXECUTE | ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR
WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/random", "/dev/urandom")
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


def restrict_self(writable: Sequence[Path] = (), readable: Sequence[Path] = ()) -> list[str]:
    """Refuse TCP and out-of-session abstract sockets and signals to this process and its children;
    with ``writable``, also every change to the file system outside those folders (and the few
    device files every program writes, such as ``/dev/null``); with ``readable``, also reading
    or running anything outside them and ``writable``.

    Returns what is refused (empty where Landlock cannot); raises OSError if Landlock is there but
    refuses to apply (e.g. no-new-privileges is not set).
    """
    abi = abi_version()
    covered = available(abi) + (["file system writes outside the session"] if writable and abi >= 1 else [])
    covered += ["file system reads outside its view"] if readable and abi >= 1 else []
    if not covered:
        return []
    fs = (_write_rights(abi) if writable else 0) | (READ_RIGHTS if readable else 0)
    net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP if abi >= NET_ABI else 0
    if abi >= SCOPE_ABI:
        attr = struct.pack("<QQQ", fs, net, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    else:
        attr = struct.pack("<QQ", fs, net) if abi >= NET_ABI else struct.pack("<Q", fs)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(SYS_CREATE_RULESET, buffer, len(attr), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        if fs:
            _allow(libc, ruleset, fs, writable, readable)
        if libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return covered


def _write_rights(abi: int) -> int:
    """Every Landlock right that changes the file system (writing, making, removing, renaming into)."""
    rights = ACCESS_FS_WRITE_FILE
    for bit in range(4, 13):  # REMOVE_DIR, REMOVE_FILE, MAKE_CHAR ... MAKE_SYM
        rights |= 1 << bit
    if abi >= 2:
        rights |= ACCESS_FS_REFER
    if abi >= 3:
        rights |= ACCESS_FS_TRUNCATE
    return rights


def _allow(libc: ctypes.CDLL, ruleset: int, rights: int, writable: Sequence[Path], readable: Sequence[Path]) -> None:
    """Rules: all ``rights`` beneath each of ``writable``, the read rights beneath each of
    ``readable``, reading and writing the usual device files (and GPUs)."""
    file_rights = rights & (ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE | ACCESS_FS_TRUNCATE)
    devices = [*WRITABLE_DEVICES, *glob.glob("/dev/nvidia*"), *glob.glob("/dev/dri/*")]
    targets = [(Path(p), rights) for p in writable] + [(Path(p), rights & READ_RIGHTS) for p in readable]
    targets += [(Path(p), file_rights & ~ACCESS_FS_EXECUTE) for p in devices]
    for path, allowed in targets:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            rule = struct.pack("<Qi", allowed if is_dir else allowed & file_rights, fd)
            buffer = ctypes.create_string_buffer(rule, len(rule))
            if allowed and libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, buffer, 0) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}) failed")
        finally:
            os.close(fd)
