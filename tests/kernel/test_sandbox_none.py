"""``--sandbox none`` as root: no mount namespace, but the kernel still drops to a per-session uid
with no privileges, no-new-privileges, a fresh keyring, the seccomp filter and process cleanup."""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from spatialclaw.inputs.load import load_input
from spatialclaw.kernel import landlock
from spatialclaw.kernel import sandbox as sandbox_module
from spatialclaw.kernel.access import first_unreachable
from spatialclaw.kernel.bwrap import runtime_paths
from spatialclaw.kernel.sandbox import SessionFolders, plan_sandbox
from spatialclaw.kernel.session import KernelSession

BLOCKED = first_unreachable([*runtime_paths(), Path(tempfile.gettempdir())])
drops_root = pytest.mark.skipif(
    os.geteuid() != 0 or BLOCKED is not None,
    reason="needs root and a Python environment other users can read "
    f"({BLOCKED} is not: there the kernel keeps root, as test_a_private_python_keeps_root_and_says_so checks)",
)

CELL = """
import ctypes, json, os, subprocess
def attempt(fn):
    try:
        return fn()
    except OSError as err:
        return type(err).__name__
libc = ctypes.CDLL(None, use_errno=True)
status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)
libc.syscall(248, b'user', NAME.encode(), b'x', 1, -3)
left = [libc.shmget(0, 4096, 0o1600) >= 0]
for folder in ('/tmp', '/dev/shm'):
    open(os.path.join(folder, NAME), 'w').close()
    left.append(os.path.exists(os.path.join(folder, NAME)))
sleeper = subprocess.Popen(['setsid', 'nohup', 'sleep', '600'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(json.dumps({
    'uid': os.getuid(), 'groups': os.getgroups(),
    'no_new_privs': status['NoNewPrivs'].strip(), 'seccomp': status['Seccomp'].strip(),
    'cap_eff': status['CapEff'].strip(),
    'shadow': attempt(lambda: open('/etc/shadow').read(1)),
    'core_pattern': attempt(lambda: open('/proc/sys/kernel/core_pattern', 'ab').close()),
    'unshare': [libc.unshare(0x10000000), ctypes.get_errno()],
    'input': attempt(lambda: len(open(INPUT, 'rb').read())),
    'sleeper': sleeper.pid, 'left': left,
}))
"""


@drops_root
def test_none_as_root_drops_to_an_unprivileged_uid_and_cleans_up(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    image = private / "photo.png"
    Image.new("RGB", (16, 12), (200, 0, 0)).save(image)
    os.chmod(image, 0o600)
    name = f"spatialclaw-none-{os.getpid()}"
    with KernelSession(load_input(image, frames=None), sandbox="none") as session:
        assert session.sandbox_info["kind"] == "none" and session.sandbox_info["uid"] != 0
        source = session.execute("print(_spatialclaw_context.source_path)")
        code = f"NAME = {name!r}\nINPUT = {source.text.strip()!r}\n" + CELL
        result = session.execute(code)
        assert result.error is None, result.error
        seen = json.loads(result.text)
        pid = session._kernel_pid()
        assert pid is not None
    assert seen["uid"] == session.sandbox_info["uid"] and seen["groups"] == []
    assert (seen["no_new_privs"], seen["seccomp"], int(seen["cap_eff"], 16)) == ("1", "2", 0)
    assert seen["shadow"] == "PermissionError" and seen["core_pattern"] == "PermissionError"
    assert seen["unshare"] == [-1, 1]
    assert seen["input"] == image.stat().st_size  # read through the session's copy
    assert name not in Path("/proc/keys").read_text()
    assert seen["left"] == [True, True, True]  # a segment and files outside the session's folders were made...
    uid = str(session.sandbox_info["uid"])
    assert not any(Path(folder, name).exists() for folder in ("/tmp", "/dev/shm"))  # ...and removed at the end
    assert not [row for row in Path("/proc/sysvipc/shm").read_text().splitlines()[1:] if row.split()[7] == uid]
    time.sleep(0.2)
    assert not Path(f"/proc/{seen['sleeper']}").exists() or "Z" in Path(f"/proc/{seen['sleeper']}/stat").read_text().split()[2]


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the kernel runs as that user")
def test_a_none_plan_as_root_asks_the_launcher_to_drop_root(folders: SessionFolders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "first_unreachable", lambda paths, **kw: None)
    plan = plan_sandbox("none", folders)
    try:
        args = plan.launcher_args
        assert plan.uid is not None and plan.uid != 0 and args[args.index("--uid") + 1] == str(plan.uid)
        assert {"--seccomp", "--new-keyring"} <= set(args) and "runs as uid" in plan.reason
        assert plan.info()["uid"] == plan.uid and plan.info()["isolated"] is False
    finally:
        plan.release()


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the kernel runs as that user")
def test_a_private_python_keeps_root_and_says_so(
    folders: SessionFolders, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sandbox_module, "first_unreachable", lambda paths, **kw: Path("/root/.pyenv"))
    monkeypatch.setattr(sandbox_module, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="spatialclaw.kernel.sandbox"):
        plan = plan_sandbox("none", folders)
        plan.release()
    warnings = [r.getMessage() for r in caplog.records if r.name == "spatialclaw.kernel.sandbox"]
    assert plan.uid is None and "--uid" not in plan.launcher_args and "runs as root" in plan.reason
    assert len(warnings) == 1 and "runs as ROOT" in warnings[0] and "/root/.pyenv" in warnings[0]


def test_not_as_root_the_kernel_runs_as_the_user(folders: SessionFolders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox_module, "_user_task_count", lambda: 10)
    plan = plan_sandbox("none", folders)
    assert plan.uid is None and "--uid" not in plan.launcher_args and "runs as this user (uid 1000)" in plan.reason


@pytest.mark.skipif(len(landlock.available()) < 3, reason="needs Landlock ABI 6 (Linux 6.12) for TCP and abstract sockets")
def test_without_bubblewrap_tcp_and_outside_abstract_sockets_are_refused() -> None:
    abstract = f"\0spatialclaw-none-probe-{os.getpid()}"
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket(socket.AF_UNIX) as listener:
        listener.bind(abstract)
        listener.listen(1)
        port = server.getsockname()[1]
        with KernelSession(sandbox="none") as session:
            assert "--landlock" in session._sandbox_plan.launcher_args and "Landlock refuses TCP" in session.sandbox_info["reason"]
            code = (
                "import os, socket\n"
                "def attempt(fn):\n"
                "    try:\n        fn()\n        return 'connected'\n"
                "    except OSError as err:\n        return type(err).__name__\n"
                f"print(attempt(lambda: socket.create_connection(('127.0.0.1', {port}), timeout=3)),\n"
                f"      attempt(lambda: socket.socket(socket.AF_UNIX).connect({abstract!r})),\n"
                f"      attempt(lambda: os.kill({os.getpid()}, 0)))"
            )
            result = session.execute(code)
            assert result.error is None and result.text.split() == ["PermissionError"] * 3
        for sock in (server, listener):
            sock.settimeout(0.1)
            with pytest.raises(TimeoutError):
                sock.accept()  # nothing came through


ROOT_CELL = """
import ctypes, json, os, platform
libc = ctypes.CDLL(None, use_errno=True)
add_key = {'x86_64': 248, 'aarch64': 217}[platform.machine()]
def attempt(fn):
    try:
        fn()
        return 'done'
    except OSError as err:
        return type(err).__name__
status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)
print(json.dumps({
    'uid': os.getuid(), 'caps': [int(status[k], 16) for k in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb')],
    'core_pattern': attempt(lambda: open('/proc/sys/kernel/core_pattern', 'ab').close()),
    'root_file': attempt(lambda: open('/etc/passwd', 'ab').close()),
    'root_folder': attempt(lambda: os.mkdir('/etc/spatialclaw-probe')),
    'setuid': attempt(lambda: os.setuid(12345)),
    'workdir': attempt(lambda: open('mine.txt', 'w').write('x')),
    'frames': len(frames),
    'user_keyring': [libc.syscall(add_key, b'user', NAME.encode(), b'x', 1, -4), ctypes.get_errno()],
    'sysv': [libc.shmget(0, 4096, 0o1600), libc.msgget(0, 0o1600), libc.semget(0, 1, 0o1600)],
    'shm_file': attempt(lambda: open('/dev/shm/' + NAME, 'w').close()),
    'tmp_file': attempt(lambda: open('/tmp/' + NAME, 'w').close()),
    'shadow': attempt(lambda: open('/etc/shadow').read(1)), 'root_home': attempt(lambda: os.listdir('/root')),
    'passwd': attempt(lambda: open('/etc/passwd').read(1)), 'numpy': attempt(lambda: __import__('numpy')),
}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or landlock.abi_version() < 1, reason="needs root and Landlock")
@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="no seccomp filter here")
def test_a_kernel_that_must_stay_root_has_no_capabilities_and_sees_only_its_view(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sandbox_module, "first_unreachable", lambda paths, **kw: Path("/root/.pyenv"))
    image = tmp_path / "photo.png"
    Image.new("RGB", (16, 12), (0, 90, 0)).save(image)
    with KernelSession(load_input(image, frames=None), sandbox="none") as session:
        assert session.sandbox_info["uid"] == 0 and "without capabilities" in session.sandbox_info["reason"]
        name = f"spatialclaw-root-kernel-{os.getpid()}"
        result = session.execute(f"NAME = {name!r}\n" + ROOT_CELL)
        assert result.error is None, result.error
        seen = json.loads(result.text)
    assert seen["uid"] == 0 and seen["caps"] == [0, 0, 0, 0]
    assert seen["core_pattern"] == seen["root_file"] == seen["root_folder"] == "PermissionError"
    assert seen["setuid"] == "PermissionError" and seen["workdir"] == "done" and seen["frames"] == 1
    assert not Path("/etc/spatialclaw-probe").exists()
    assert seen["user_keyring"] == [-1, 1] and name not in Path("/proc/keys").read_text()  # root's keyring is the host's
    assert seen["shadow"] == seen["root_home"] == "PermissionError" and seen["passwd"] == seen["numpy"] == "done"
    assert seen["sysv"] == [-1, -1, -1] and seen["shm_file"] == seen["tmp_file"] == "PermissionError"  # nothing outlives it
