"""One test per escape class under the default sandbox (bubblewrap), run as the host user (root in CI).

Each test runs adversarial cells in a real sandboxed kernel and checks the host afterwards; a
test ends by checking that the session goes on. Probes never change the host even when they
succeed: files are opened for writing and closed without a byte written.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bwrap_probe import needs_bwrap
from spatialclaw.inputs.load import load_input
from spatialclaw.kernel.session import KernelSession

pytestmark = needs_bwrap


def run_ok(session: KernelSession, code: str, timeout: float | None = None) -> str:
    result = session.execute(code, timeout=timeout)
    assert result.error is None, f"{result.error.ename}: {result.error.evalue}\n{result.error.traceback}"
    return result.text


def probe(session: KernelSession, code: str) -> str:
    """Run ``code`` and return what it printed, or the exception class name it raised."""
    wrapped = "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + (
        "except BaseException as err:\n    print(type(err).__name__)\n"
    )
    return run_ok(session, wrapped).strip()


def goes_on(session: KernelSession) -> None:
    result = session.execute("answer(6 * 7)")
    assert result.error is None and result.answered and result.answer == 42


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("escape-input") / "images"
    folder.mkdir()
    for k in range(2):
        Image.new("RGB", (16, 12), (50 * (k + 1), 0, 0)).save(folder / f"img{k}.png")
    return folder


@pytest.fixture(scope="module")
def session(images: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A default-sandbox kernel started from a host folder holding a `.env` with a key, with secrets set."""
    project = tmp_path_factory.mktemp("host-project")
    (project / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv\n")
    with pytest.MonkeyPatch.context() as env:
        env.chdir(project)
        env.syspath_prepend(str(project))
        env.setenv("PYTHONPATH", str(project))
        for name in ("SPATIALCLAW_VLM_KEY", "AZURE_OPENAI_KEY", "MISTRAL_KEY", "GH_PAT", "HF_TOKEN"):
            env.setenv(name, f"secret-{name.lower()}")
        kernel = KernelSession(load_input(images, frames=None), cell_timeout=60, memory_limit_mb=2048)
        kernel.start()
        kernel.project = project  # type: ignore[attr-defined]
    try:
        yield kernel
    finally:
        kernel.shutdown()


def test_host_wide_kernel_settings_are_read_only(session: KernelSession) -> None:
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/vm/drop_caches",
                 "/proc/sysrq-trigger"):
        assert probe(session, f"open({path!r}, 'ab').close()\nprint('opened')") in (
            "PermissionError", "OSError", "FileNotFoundError"), path
    goes_on(session)


def test_the_kernel_is_not_host_root_and_root_only_files_are_unreadable(session: KernelSession) -> None:
    ids = json.loads(run_ok(session, "import os, json\nprint(json.dumps([os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]))"))
    assert ids[0] != 0 and ids[1] != 0 and ids[2] != 0 and ids[3] == []
    caps = run_ok(session, "print([l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))])")
    assert "CapEff:\\t0000000000000000" in caps and "CapPrm:\\t0000000000000000" in caps
    for path in ("/etc/shadow", "/etc/gshadow"):
        assert probe(session, f"print(open({path!r}).read(10))") in ("PermissionError", "FileNotFoundError"), path
    addresses = run_ok(session, "print({line.split()[0] for line in open('/proc/kallsyms').readlines()[:50]})")
    assert addresses.strip() in ("{'0000000000000000'}", "set()")
    assert probe(session, "import os\nos.setuid(0)\nprint('root')") == "PermissionError"
    goes_on(session)


def test_the_hosts_current_folder_and_sys_path_are_not_visible(session: KernelSession) -> None:
    project = session.project  # type: ignore[attr-defined]
    assert probe(session, f"print(open({str(project / '.env')!r}).read())") in ("FileNotFoundError", "PermissionError")
    import spatialclaw

    repo = Path(spatialclaw.__file__).resolve().parents[1]
    listing = run_ok(session, f"import os\nprint(sorted(os.listdir({str(repo)!r})))")
    assert "pyproject.toml" not in listing and ".env" not in listing  # only the package folders are bound
    assert probe(session, "import os\nprint(os.environ.get('PYTHONPATH'))") == "None"
    goes_on(session)


def test_the_kernel_cannot_write_anything_the_host_trusts(session: KernelSession) -> None:
    cache = Path(run_ok(session, "import os\nprint(os.environ['SPATIALCLAW_CACHE'])").strip())
    assert session.input is not None and session.input.frames_file is not None and session._frames_file is not None
    frames_file = str(session._frames_file)
    assert probe(session, f"open({frames_file!r}, 'r+b').close()\nprint('writable')") in ("OSError", "PermissionError")
    for target in (cache / "frames", cache / "perception", cache / "matplotlib", cache):
        code = f"import os\nos.symlink('/etc', {str(target / 'planted')!r})\nprint('planted')"
        assert probe(session, code) in ("OSError", "PermissionError", "FileNotFoundError"), target
    assert not any(p.is_symlink() for p in cache.rglob("*"))
    config = run_ok(session, "import os\nprint(os.environ['MPLCONFIGDIR'])").strip()
    assert not config.startswith(str(cache))  # matplotlib's folder is the session's own
    goes_on(session)


def test_the_host_never_follows_a_symlink_planted_in_the_cache(
    images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SPATIALCLAW_CACHE", str(cache))
    elsewhere = tmp_path / "host-folder"
    elsewhere.mkdir()
    frames = cache / "frames"
    cache.mkdir()
    frames.symlink_to(elsewhere)
    loaded = load_input(images, frames=1)
    assert list(elsewhere.iterdir()) == []
    assert not frames.is_symlink() and loaded.frames_file is not None and loaded.frames_file.parent == frames
    entry = loaded.frames_file
    entry.unlink()
    entry.symlink_to(elsewhere / "target.npz")
    again = load_input(images, frames=1)
    assert not again.frames_file.is_symlink() and not (elsewhere / "target.npz").exists()
    entry.write_bytes(b"corrupt")
    third = load_input(images, frames=1)
    assert len(third.frames) == 1 and third.frames_file.stat().st_size > 100


def test_a_key_added_in_a_cell_stays_in_the_sessions_own_keyring(session: KernelSession) -> None:
    name = f"spatialclaw-probe-{os.getpid()}"
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "for ring in (-3, -4, -5):\n"
        f"    libc.syscall(248, b'user', b'{name}', b'x', 1, ring)\n"
        "print('done')"
    )
    assert run_ok(session, code).strip() == "done"
    assert name not in Path("/proc/keys").read_text()
    goes_on(session)


def test_processes_a_cell_leaves_running_stop_with_the_session(images: Path) -> None:
    for mode in ("auto", "none"):
        with KernelSession(load_input(images, frames=None), sandbox=mode) as session:
            code = (
                "import subprocess\n"
                "p = subprocess.Popen(['setsid', 'sh', '-c', 'sleep 600 & echo $!'], stdout=subprocess.PIPE, text=True)\n"
                "print(p.stdout.readline().strip())"
            )
            inner = int(run_ok(session, code).strip())
            kernel_pid = session._kernel_pid()
            assert kernel_pid is not None
            daemons = _wait_for_descendants_named(kernel_pid, "sleep")
            assert daemons, f"{mode}: the background sleep is not a descendant of the kernel (inner pid {inner})"
        time.sleep(0.2)
        assert not [pid for pid in daemons if _alive(pid)], mode


def _wait_for_descendants_named(root: int, name: str, timeout_s: float = 10.0) -> list[int]:
    """The descendants of ``root`` running ``name``; the shell prints ``$!`` before its forked child
    has exec'd, so on a loaded machine the child may still be named ``sh`` for a moment."""
    deadline = time.monotonic() + timeout_s
    while not (found := _descendants_named(root, name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _descendants_named(root: int, name: str) -> list[int]:
    from spatialclaw.kernel.cgroups import descendants

    return [pid for pid in descendants(root) if _comm(pid) == name]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_tmp_and_shm_are_small_and_private(session: KernelSession) -> None:
    from spatialclaw.kernel.bwrap import SHM_SIZE, TMPFS_SIZE

    sizes = json.loads(run_ok(session, "import os, json\nprint(json.dumps([os.statvfs(p).f_blocks * os.statvfs(p).f_frsize for p in ('/tmp', '/dev/shm')]))"))
    assert sizes[0] <= TMPFS_SIZE and sizes[1] <= SHM_SIZE
    assert probe(session, "import os\nprint(sorted(os.listdir('/dev')))").count("nvidia") == len(
        [d for d in os.listdir("/dev") if d.startswith("nvidia")])
    goes_on(session)


def test_memory_is_limited_for_the_kernel_and_its_children_together(images: Path) -> None:
    with KernelSession(load_input(images, frames=None), memory_limit_mb=1536, cell_timeout=60) as session:
        if session.sandbox_info.get("memory_limit") != "memory cgroup":
            pytest.skip("no memory cgroup here: the documented fallback is RLIMIT_AS per process")
        code = (
            "import os, subprocess, sys, time\n"
            "hold = ('import sys, time; b = bytearray(700 * 2**20); b[::4096] = b\"x\" * len(b[::4096]); '\n"
            "        'open(sys.argv[1], \"w\").close(); time.sleep(60)')\n"
            "ps = [subprocess.Popen([sys.executable, '-c', hold, f'ready{k}']) for k in range(3)]\n"
            "deadline = time.time() + 40\n"
            "while time.time() < deadline and any(p.poll() is None and not os.path.exists(f'ready{k}') for k, p in enumerate(ps)):\n"
            "    time.sleep(0.2)\n"
            "print(sum(p.poll() is None and os.path.exists(f'ready{k}') for k, p in enumerate(ps)))\n"
            "_ = [p.kill() for p in ps]"
        )
        result = session.execute(code, timeout=55)
        alive = int(result.text.strip()) if result.error is None else 0
        assert alive < 3  # 3 × 700 MiB cannot all live under 1536 MiB for the whole session
        goes_on(session)


def test_a_cell_that_fills_the_disk_is_stopped_and_its_files_removed(images: Path) -> None:
    with KernelSession(load_input(images, frames=None), disk_budget_mb=32, cell_timeout=60) as session:
        code = "import os\nfor k in range(64):\n    open(f'fill{k}.bin', 'wb').write(os.urandom(2**20))\nimport time; time.sleep(5)"
        result = session.execute(code)
        assert result.error is not None and result.restarted and "disk budget of 32 MiB" in result.error.evalue
        assert session.workdir is not None and not list(session.workdir.glob("fill*"))
        goes_on(session)


def test_the_environment_holds_no_credential_in_either_mode(images: Path) -> None:
    names = ("SPATIALCLAW_VLM_KEY", "AZURE_OPENAI_KEY", "MISTRAL_KEY", "GH_PAT", "OPENAI_API_KEY", "DB_PASSWORD")
    with pytest.MonkeyPatch.context() as env:
        for name in names:
            env.setenv(name, "secret")
        for mode in ("auto", "none"):
            with KernelSession(sandbox=mode) as session:
                seen = json.loads(run_ok(session, "import os, json\nprint(json.dumps(sorted(os.environ)))"))
                assert not set(names) & set(seen), mode
                assert not [n for n in seen if n.startswith("SPATIALCLAW_") and n != "SPATIALCLAW_CACHE"], mode


def test_a_corrupt_shared_perception_entry_is_recomputed_not_fatal(tmp_path: Path) -> None:
    from spatialclaw.primitives.cache import PerceptionCache
    from spatialclaw.primitives.types import Reconstruction

    shared, layer = tmp_path / "shared", tmp_path / "layer"
    (shared / "reconstruction").mkdir(parents=True)
    key = "ab" * 20
    (shared / "reconstruction" / f"{key}.npz").write_bytes(b"PK\x03\x04 not a zip")
    made = Reconstruction(depth=np.ones((1, 2, 2), np.float32), pose=np.eye(4)[None], K=np.eye(3)[None])
    cache = PerceptionCache(shared, layer)
    got = cache.get_or_compute(Reconstruction, "reconstruction", key, lambda: made)
    assert cache.misses == 1 and got is made and cache.skipped
    assert (layer / "reconstruction" / f"{key}.npz").is_file()


FORGE_WRONG_MASKS = """
import numpy as np
from spatialclaw.atomic import write_npz
from spatialclaw.primitives import cache, perception
from spatialclaw.primitives.types import Masks
context = _spatialclaw_context
job = perception.masks_job("segmentation", "chair", list(frames), context)
height, width = frames[0].image.shape[:2]
wrong = Masks(np.ones((1, height, width), bool), np.array([[0.0, 0.0, 5.0, 5.0]]), np.array([1.0]), ["bogus"],
              np.array([0]), np.array([7]))
store = cache.for_context(context)
write_npz(store.path("segmentation", job.key), cache._CODECS[Masks][0](wrong))
cache.forget(context)
print(sorted(set(segment("chair").labels)))
"""


def test_a_wrong_result_a_cell_writes_never_reaches_a_later_session(tmp_path: Path) -> None:
    """A well-formed but wrong entry under the right key in the session layer is the cell's own
    business; the next session of the same frames computes its own (nothing is promoted)."""
    from spatialclaw.synth import make_test_scene

    scene = make_test_scene(tmp_path, frames=3, width=96, height=72)
    with KernelSession(scene, frames=3, perception="gt") as first:
        assert run_ok(first, FORGE_WRONG_MASKS).strip() == "['bogus']"
    with KernelSession(scene, frames=3, perception="gt") as later:
        labels = run_ok(later, "print(sorted(set(segment('chair').labels)))").strip()
    with KernelSession(scene, frames=3, perception="gt", sandbox="none") as fresh:
        expected = run_ok(fresh, "print(sorted(set(segment('chair').labels)))").strip()
    assert "bogus" not in labels and labels == expected


def test_a_frame_list_is_still_loaded_after_a_restart(session: KernelSession) -> None:
    result = session.execute("import os\nos._exit(3)")
    assert result.restarted and result.error is not None
    assert run_ok(session, "print(len(frames))").strip() == "2"


def test_no_user_namespaces_and_no_setuid_programs(session: KernelSession) -> None:
    code = (
        "import ctypes, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno())\n"
        "print(subprocess.run(['unshare', '-U', '-r', 'true'], capture_output=True).returncode)\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0])"
    )
    first, unshare, no_new_privs = run_ok(session, code).split("\n")[:3]
    assert first.split() == ["-1", "1"] and unshare != "0" and no_new_privs == "1"
    goes_on(session)


def test_without_cgroups_the_memory_of_kernel_and_children_is_watched(images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spatialclaw.kernel import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module.SessionCgroups, "create", classmethod(lambda cls, *a, **k: None))
    with KernelSession(load_input(images, frames=None), memory_limit_mb=1536, cell_timeout=60) as session:
        assert session.sandbox_info["memory_limit"] == "RLIMIT_AS per process"
        code = (
            "import subprocess, sys, time\n"
            "hold = 'import time; b = bytearray(700 * 2**20); b[::4096] = b\"x\" * len(b[::4096]); time.sleep(60)'\n"
            "ps = [subprocess.Popen([sys.executable, '-c', hold]) for _ in range(3)]\n"
            "time.sleep(40)"
        )
        result = session.execute(code, timeout=55)
        assert result.restarted and result.error is not None and "memory limit of 1536 MiB" in result.error.evalue
        goes_on(session)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the i386 ABI is an x86_64 door")
def test_no_user_namespace_through_the_i386_abi(session: KernelSession) -> None:
    """``int 0x80`` runs i386 system calls, whose numbers the x86_64 rules do not match: the filter
    refuses every call of another ABI (here unshare(CLONE_NEWUSER), i386 number 310)."""
    code = (
        "import ctypes, mmap\n"
        "code = bytes([0x53, 0xb8, 0x36, 1, 0, 0, 0xbb, 0, 0, 0, 0x10, 0xcd, 0x80, 0x5b, 0xc3])\n"
        "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "page.write(code)\n"
        "print(ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))())\n"
        "print(len(open('/proc/self/uid_map').read().split()))"
    )
    assert run_ok(session, code).split() == ["-1", "3"]  # refused; still the host's user namespace
    goes_on(session)
