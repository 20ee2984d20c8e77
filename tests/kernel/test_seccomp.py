"""The seccomp filter: which ABI gets which program, what the sandbox says where there is none,
and that an installed filter refuses user namespaces through every door (native and i386 ABI)."""

from __future__ import annotations

import logging
import platform
import struct
import subprocess
import sys

import pytest

from spatialclaw.kernel import sandbox as sandbox_module
from spatialclaw.kernel import seccomp
from spatialclaw.kernel.sandbox import SessionFolders, plan_sandbox


def _instructions(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]


@pytest.mark.parametrize(("machine", "pointer", "abi"), [
    ("x86_64", 8, "x86_64"), ("x86_64", 4, "i686"), ("aarch64", 8, "aarch64"), ("aarch64", 4, "armv7l"),
    ("riscv64", 8, "riscv64"), ("ppc64le", 8, "ppc64le"),
])
def test_the_abi_is_the_interpreters_not_only_the_machines(machine: str, pointer: int, abi: str) -> None:
    assert seccomp.native_abi(machine, pointer) == abi
    program = seccomp.filter_program(abi)
    assert (program is None) == (abi not in ("x86_64", "aarch64"))
    if program is not None:
        audit, unshare, clone, clone3 = seccomp.ARCHES[abi]
        constants = [k for _, _, _, k in _instructions(program)]
        assert constants[1] == audit and {unshare, clone, clone3} <= set(constants)
        host_wide = set(seccomp.HOST_WIDE_CALLS[abi])
        assert not host_wide & set(constants)
        assert host_wide <= {k for _, _, _, k in _instructions(seccomp.filter_program(abi, stays_root=True))}


def test_the_program_jumps_stay_inside_it() -> None:
    for abi, stays_root in ((abi, stays_root) for abi in seccomp.ARCHES for stays_root in (False, True)):
        program = _instructions(seccomp.filter_program(abi, stays_root=stays_root))
        for at, (code, jt, jf, _) in enumerate(program):
            if code & 0x07 == 0x05:  # a jump
                assert at + 1 + max(jt, jf) < len(program)
        assert program[-1][0] == program[-2][0] == 0x06  # ends in returns


def test_an_unknown_architecture_gets_no_filter_and_one_loud_line(
    folders: SessionFolders, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(seccomp.platform, "machine", lambda: "riscv64")
    monkeypatch.setattr(sandbox_module, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="spatialclaw.kernel.sandbox"):
        for _ in range(2):
            plan = plan_sandbox("none", folders)
            plan.release()
    lines = [r.getMessage() for r in caplog.records if "seccomp" in r.getMessage()]
    assert len(lines) == 1 and "user namespaces are NOT blocked by seccomp on the riscv64" in lines[0]
    assert "\n" not in lines[0] and "--seccomp" not in plan.launcher_args and "NOT blocked" in plan.reason
    monkeypatch.setattr(seccomp.platform, "machine", lambda: "x86_64")
    plan = plan_sandbox("none", folders)
    plan.release()
    assert "--seccomp" in plan.launcher_args and "NOT blocked" not in plan.reason


PROBE = """
import ctypes, mmap, os, platform
from spatialclaw.kernel.seccomp import filter_program, install_filter
if os.geteuid() == 0:
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
install_filter(filter_program())
libc = ctypes.CDLL(None, use_errno=True)
print(libc.unshare(0x10000000), ctypes.get_errno())
if platform.machine() == 'x86_64':  # unshare(CLONE_NEWUSER) through the i386 ABI: int 0x80, eax = 310
    code = bytes([0x53, 0xb8, 0x36, 1, 0, 0, 0xbb, 0, 0, 0, 0x10, 0xcd, 0x80, 0x5b, 0xc3])
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    print(ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))())
print(len(open('/proc/self/uid_map').read().split()))
"""


@pytest.mark.skipif(seccomp.filter_program() is None, reason=f"no filter for {platform.machine()}")
def test_an_installed_filter_refuses_user_namespaces_through_every_abi() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    lines = done.stdout.split("\n")
    assert done.returncode == 0, done.stderr
    assert lines[0] == "-1 1"
    if platform.machine() == "x86_64":
        assert lines[1] == "-1"  # -EPERM from the filter, not 0 (a new user namespace)
    assert lines[-2] == "3"  # still the host's user namespace: "0 0 4294967295"
