"""The kernel's sandbox: what model-written code cannot do, and that the session goes on after it.

The kernel tests share one sandboxed session (module scope) to keep the file fast; each test
ends by checking that the next cell runs and that ``answer(...)`` still reaches the host.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import spatialclaw
from spatialclaw.kernel import sandbox as sandbox_module
from cli_runner import run_cli
from spatialclaw.errors import ConfigError
from spatialclaw.kernel.session import KernelSession
from spatialclaw.kernel.sandbox import SessionFolders, plan_sandbox
from bwrap_probe import BWRAP_WHY, BWRAP_WORKS, needs_bwrap

FAKE_KEY = "sk-sandbox-test-0123456789"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """One bwrap-sandboxed kernel with 3 frames (red 10, 20, 30) and an ``echo`` host handler.

    It is started while the host has ``OPENAI_API_KEY`` and ``HOST_ONLY_SETTING`` set.
    """
    if not BWRAP_WORKS:
        pytest.skip(f"bubblewrap cannot sandbox here: {BWRAP_WHY}")
    folder = tmp_path_factory.mktemp("sandbox-input")
    for k in range(3):
        Image.new("RGB", (32, 24), (10 * (k + 1), 0, 0)).save(folder / f"img{k}.png")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPATIALCLAW_CACHE", str(tmp_path_factory.mktemp("sandbox-cache")))
        env.setenv("OPENAI_API_KEY", FAKE_KEY)
        env.setenv("HOST_ONLY_SETTING", "visible-on-the-host")
        kernel = KernelSession(
            folder, frames=None, sandbox="bwrap", cell_timeout=60.0,
            host_handlers={"echo": lambda payload: {"echoed": payload}},
        )
        kernel.start()
    try:
        yield kernel
    finally:
        kernel.shutdown()


def run_ok(session: KernelSession, code: str, timeout: float | None = None) -> str:
    result = session.execute(code, timeout=timeout)
    assert result.error is None, f"{result.error.ename}: {result.error.evalue}\n{result.error.traceback}"
    return result.text


def assert_session_goes_on(session: KernelSession) -> None:
    """The next cell runs and the answer protocol still works."""
    result = session.execute("answer(6 * 7)")
    assert result.error is None and result.answered and result.answer == 42


def failure(session: KernelSession, code: str) -> tuple[str, int | None]:
    """Run ``code`` (which must raise) wrapped so the cell prints the exception's class and errno."""
    wrapped = "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + (
        "except BaseException as err:\n    print(type(err).__name__, getattr(err, 'errno', None))\n"
        "else:\n    print('no error')\n"
    )
    name, number = run_ok(session, wrapped).split()
    return name, None if number == "None" else int(number)


# ----------------------------------------------------------------------------- the sandbox kernel


@needs_bwrap
def test_session_reports_the_sandbox_and_keeps_frames_and_host_calls(session: KernelSession) -> None:
    info = session.sandbox_info
    assert (info["kind"], info["requested"], info["network"]) == ("bwrap", "bwrap", False)
    assert "bubblewrap" in session.sandbox_info["reason"]
    assert run_ok(session, "print(len(frames), [int(f.image[0, 0, 0]) for f in frames])") == "3 [10, 20, 30]\n"
    code = "from spatialclaw.kernel.bootstrap import host_call\nprint(host_call('echo', {'x': [1, 2]}))"
    assert run_ok(session, code) == "{'echoed': {'x': [1, 2]}}\n"
    assert_session_goes_on(session)


@needs_bwrap
def test_cell_cannot_reach_a_server_on_the_hosts_loopback(session: KernelSession) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the server is reachable from the host
        server.accept()[0].close()
        name, number = failure(session, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)")
        assert (name, number) == ("ConnectionRefusedError", errno.ECONNREFUSED)
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()  # nothing came through
    name, number = failure(session, "import socket\nsocket.getaddrinfo('example.com', 80)")
    assert name == "gaierror"
    assert_session_goes_on(session)


@needs_bwrap
def test_cell_cannot_read_files_outside_its_workdir(session: KernelSession, tmp_path: Path) -> None:
    in_tmp = tmp_path / "secret.txt"
    in_tmp.write_text("tmp secret")
    in_home = Path.home() / f".spatialclaw-sandbox-probe-{uuid.uuid4().hex}"
    in_home.write_text("home secret")
    try:
        for path in (in_tmp, in_home):
            name, number = failure(session, f"open({str(path)!r}).read()")
            assert (name, number) == ("FileNotFoundError", errno.ENOENT)
    finally:
        in_home.unlink()
    # Its own working directory is readable and writable, and is its home.
    assert session.workdir is not None
    (session.workdir / "given.txt").write_text("from the host")
    code = "import os\nprint(open('given.txt').read(), os.path.expanduser('~') == os.getcwd())"
    assert run_ok(session, code) == "from the host True\n"
    assert_session_goes_on(session)


@needs_bwrap
def test_cell_cannot_write_outside_its_workdir(session: KernelSession) -> None:
    name = f"sandbox-write-probe-{uuid.uuid4().hex}.txt"
    project_file = Path(spatialclaw.__file__).resolve().parents[1] / name
    try:
        assert failure(session, f"open({str(project_file)!r}, 'w').write('x')") in (
            ("OSError", errno.EROFS), ("PermissionError", errno.EACCES), ("FileNotFoundError", errno.ENOENT))
        assert not project_file.exists()
    finally:
        project_file.unlink(missing_ok=True)
    # /tmp inside is private: a file written there never reaches the host's /tmp.
    assert run_ok(session, f"open('/tmp/{name}', 'w').write('x')\nprint(open('/tmp/{name}').read())") == "x\n"
    assert not (Path("/tmp") / name).exists()
    run_ok(session, "open('made-by-the-kernel.txt', 'w').write('kept')")
    assert session.workdir is not None and (session.workdir / "made-by-the-kernel.txt").read_text() == "kept"
    assert_session_goes_on(session)


@needs_bwrap
def test_cell_cannot_see_the_hosts_secrets_or_other_settings(session: KernelSession) -> None:
    code = "import os\nprint(sorted(k for k in os.environ if 'OPENAI' in k or 'HOST_ONLY' in k or 'KEY' in k))"
    assert run_ok(session, code) == "[]\n"
    assert FAKE_KEY not in run_ok(session, "import os\nprint(open('/proc/self/environ').read())")
    assert_session_goes_on(session)


@needs_bwrap
def test_limits_are_set_in_the_kernel(session: KernelSession) -> None:
    code = (
        "import resource\n"
        "print(resource.getrlimit(resource.RLIMIT_FSIZE)[0] // 2**20, resource.getrlimit(resource.RLIMIT_CPU)[0])\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])"
    )
    limits, caps = run_ok(session, code).splitlines()
    assert limits == f"{sandbox_module.FILE_SIZE_MB} {sandbox_module.CPU_SECONDS}"
    assert int(caps, 16) == 0  # no capabilities, even as root
    assert_session_goes_on(session)


@needs_bwrap
def test_a_50_gb_allocation_fails_in_the_kernel_and_the_session_goes_on(session: KernelSession) -> None:
    result = session.execute("import numpy as np\nhuge = np.ones(50 * 2**30, dtype=np.uint8)")
    assert result.error is not None and result.error.ename in ("MemoryError", "_ArrayMemoryError")
    assert not result.restarted
    assert run_ok(session, "print('huge' in globals())") == "False\n"
    assert_session_goes_on(session)


@needs_bwrap
@pytest.mark.slow
def test_a_fork_bomb_is_contained_and_a_restart_is_sandboxed_again(session: KernelSession) -> None:
    limit = session.sandbox_info["max_processes"]
    assert limit is not None, session.sandbox_info["reason"]
    bound = 3 * limit  # the cell stops by itself here if nothing contains it
    code = (
        "import os, time\n"
        "children, refused = [], None\n"
        f"for _ in range({bound}):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as err:\n"
        "        refused = err\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(120)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "print(type(refused).__name__, len(children))"
    )
    result = session.execute(code, timeout=90)
    assert result.error is None, result.error
    name, count = result.text.split()
    assert name == "BlockingIOError" and 0 < int(count) < limit
    # While the children hold the kernel's whole budget the host still starts processes, and a
    # cell that needs a thread (IPython restarts its history thread after a fork) fails as data.
    assert subprocess.run(["true"], timeout=10).returncode == 0
    stuck = session.execute("print('next')")
    assert stuck.error is None or stuck.error.ename in ("RuntimeError", "BlockingIOError")
    session.restart()  # kills the sandbox's whole process tree
    assert run_ok(session, "import os\nprint('HOST_ONLY_SETTING' in os.environ, len(frames))") == "False 3\n"
    refused = failure(session, "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=3)")
    assert refused == ("ConnectionRefusedError", errno.ECONNREFUSED)
    assert_session_goes_on(session)


@needs_bwrap
def test_an_interrupted_cell_keeps_the_sandboxed_kernel(session: KernelSession) -> None:
    run_ok(session, "kept = 'yes'")
    result = session.execute("import time\ntime.sleep(30)", timeout=1.0)
    assert result.timed_out and not result.restarted
    assert run_ok(session, "print(kept)") == "yes\n"
    assert_session_goes_on(session)


# ----------------------------------------------------------------------------- plans (no kernel)


def _no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "bwrap_available", lambda: (False, "bwrap is not installed"))


def test_unknown_mode_is_a_config_error(folders: SessionFolders) -> None:
    with pytest.raises(ConfigError, match="unknown sandbox mode 'jail'"):
        plan_sandbox("jail", folders)


def test_bwrap_mode_without_bwrap_is_a_config_error(folders: SessionFolders, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_bwrap(monkeypatch)
    with pytest.raises(ConfigError, match="bubblewrap does not work here"):
        plan_sandbox("bwrap", folders)


def test_auto_without_bwrap_says_loudly_once_that_the_kernel_is_not_isolated(
    folders: SessionFolders, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _no_bwrap(monkeypatch)
    monkeypatch.setattr(sandbox_module, "_warned", set())
    env = {"PATH": "/usr/bin", "OPENAI_API_KEY": FAKE_KEY, "GITHUB_TOKEN": "t", "KEEP": "1"}
    plans = []
    with caplog.at_level(logging.WARNING, logger="spatialclaw.kernel.sandbox"):
        for _ in range(2):
            plan = plan_sandbox("auto", folders, host_env=env)
            plans.append(plan)
            plan.release()
    warnings = [r.getMessage() for r in caplog.records if r.name == "spatialclaw.kernel.sandbox"]
    assert len(warnings) == 1 and "NOT ISOLATED (bwrap is not installed)" in warnings[0]
    assert all(p.kind == "none" and "bwrap" not in " ".join(p.prefix) for p in plans)
    assert plans[0].env["PATH"] == "/usr/bin" and "KEEP" not in plans[0].env and "OPENAI_API_KEY" not in plans[0].env
    assert plans[0].info()["isolated"] is False and "NOT isolated" in plans[0].reason


def test_none_plan_keeps_the_limits(folders: SessionFolders) -> None:
    plan = plan_sandbox("none", folders, memory_mb=512, host_env={"PATH": "/usr/bin", "HF_TOKEN": "t"})
    try:
        assert plan.kind == "none" and "HF_TOKEN" not in plan.env and plan.env["HOME"] == str(folders.workdir)
        assert "bwrap" not in " ".join(plan.prefix) and "--cpu-seconds" in plan.launcher_args
        assert "--new-keyring" in plan.launcher_args
        if plan.cgroups is not None:  # root with writable cgroups: the kernel joins them
            assert plan.prefix[:2] == ["/bin/sh", "-c"] and plan.prefix[3].split() == [str(f) for f in plan.cgroups.folders]
            assert (plan.cgroups.folders[0] / "pids.max").read_text().strip() == str(plan.max_processes)
        elif os.geteuid() != 0:
            assert "--max-processes" in plan.launcher_args
        else:
            assert plan.max_processes is None and "NOT capped" in plan.reason
    finally:
        plan.release()


def test_a_non_root_user_gets_rlimit_nproc_above_its_current_tasks(
    folders: SessionFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox_module, "_user_task_count", lambda: 40)
    plan = plan_sandbox("none", folders)
    expected = 40 + max(512, 8 * (os.cpu_count() or 1))
    assert plan.cgroups is None and plan.max_processes == expected
    assert plan.launcher_args[-2:] == ["--max-processes", str(expected)] and "RLIMIT_NPROC" in plan.reason


@needs_bwrap
def test_bwrap_plan_binds_only_what_the_kernel_needs(folders: SessionFolders, tmp_path: Path) -> None:
    video = tmp_path / "input.mp4"
    video.write_bytes(b"\0")
    folders.inputs = [video]
    env = {"PATH": "/usr/bin", "OPENAI_API_KEY": FAKE_KEY, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "2", "OTHER": "x",
           "PYTHONPATH": str(Path.cwd())}
    plan = plan_sandbox("bwrap", folders, host_env=env)
    try:
        words = plan.prefix
        pairs = {(words[i], words[i + 1]) for i in range(len(words) - 1)}
        for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv", "--new-session"):
            assert (flag in words) is (flag != "--new-session"), flag  # --new-session would break interrupts
        assert ("--ro-bind", str(video)) in pairs and ("--tmpfs", "/tmp") in pairs and ("--tmpfs", "/dev/shm") in pairs
        assert ("--ro-bind", "/proc/sys") in pairs and ("--ro-bind", "/") not in pairs
        for path in (folders.workdir, folders.sockets, folders.cache_layer):
            assert ("--bind", str(path)) in pairs
        assert ("--ro-bind", str(folders.shared_cache)) in pairs
        bound = [words[i + 1] for i in range(len(words) - 1) if words[i] in ("--bind", "--ro-bind")]
        assert str(tmp_path) not in bound and str(Path.cwd()) not in bound
        assert FAKE_KEY not in " ".join(words) and FAKE_KEY not in plan.env.values()
        kernel_env = {words[i + 1]: words[i + 2] for i in range(len(words) - 2) if words[i] == "--setenv"}
        assert kernel_env["HOME"] == str(folders.workdir) and kernel_env["OMP_NUM_THREADS"] == "2"
        assert not {"OTHER", "OPENAI_API_KEY", "PYTHONPATH"} & set(kernel_env)
        if os.geteuid() == 0:
            assert plan.uid is not None and plan.uid != 0 and "--uid" in plan.launcher_args
    finally:
        cgroups = list(plan.cgroups.folders) if plan.cgroups else []
        plan.release()
    assert not any(folder.exists() for folder in cgroups)


# ----------------------------------------------------------------------------- launcher limits


def _limited(code: str, **limits: int) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter after `limit_resources(**limits)`."""
    script = f"from spatialclaw.kernel.launcher import limit_resources\nlimit_resources(**{limits!r})\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_file_size_limit_fails_the_write_not_the_process(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    code = (
        f"try:\n    open({str(target)!r}, 'wb').write(bytes(2 * 2**20))\n"
        "except OSError as err:\n    print(type(err).__name__, err.errno)"
    )
    done = _limited(code, file_size_mb=1)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OSError", str(errno.EFBIG)]
    assert target.stat().st_size == 2**20


def test_cpu_time_limit_stops_a_busy_loop() -> None:
    done = _limited("while True:\n    pass", cpu_seconds=1)
    assert done.returncode == -signal.SIGXCPU


def test_memory_limit_fails_an_allocation() -> None:
    done = _limited("try:\n    bytearray(2 * 2**30)\nexcept MemoryError:\n    print('refused')", memory_mb=1024)
    assert done.returncode == 0 and done.stdout == "refused\n", done.stderr


def test_cuda_devices_switch_the_memory_limit_to_the_data_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    from spatialclaw.kernel import launcher as kernel_launcher

    monkeypatch.setattr(kernel_launcher.glob, "glob", lambda pattern: ["/dev/nvidia0"])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert kernel_launcher.cuda_may_be_used()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert not kernel_launcher.cuda_may_be_used()
    monkeypatch.setattr(kernel_launcher.glob, "glob", lambda pattern: [])
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert not kernel_launcher.cuda_may_be_used()


# ----------------------------------------------------------------------------- CLI


def test_exec_rejects_an_unknown_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["exec", "none", "--sandbox", "jail", "-c", "1"], capsys)
    assert code == 2 and "unknown --sandbox 'jail'" in err


@needs_bwrap
@pytest.mark.slow
def test_exec_records_the_sandbox_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    cell = "import os\nprint(os.getcwd() == os.environ['HOME'])"
    code, out, err = run_cli(["exec", "none", "--sandbox", "bwrap", "--json", "-c", cell], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["sandbox"]["kind"] == "bwrap"
    assert report["cells"][0]["text"] == "True\n"
