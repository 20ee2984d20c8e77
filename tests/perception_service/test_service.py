"""The perception service: one load for every kernel, requests at once, a killed service
restarted, bad requests refused, and a kernel that computes itself when no service answers."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.kernel.session import KernelSession  # noqa: E402
from spatialclaw.perception_service import protocol  # noqa: E402
from spatialclaw.perception_service.client import ManagedService, ServiceClient  # noqa: E402
from spatialclaw.perception_service.folder import ServiceFolder, read_token  # noqa: E402
from spatialclaw.perception_service.server import PerceptionService  # noqa: E402

pytestmark = pytest.mark.slow
SAM3 = "facebook/sam3"
COMPARE = ("import numpy as np\nfrom spatialclaw.primitives import perception\n"
           "ref = perception.masks_job('segmentation', 'chair', [frames[p] for p in {positions}], _spatialclaw_context).compute()\n"
           "print('same', np.array_equal(ref.masks, m.masks), np.array_equal(ref.scores, m.scores))")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a Hugging Face cache with a tiny SAM 3, a small synthetic video)."""
    from spatialclaw.synth import make_test_scene
    from spatialclaw.testing import tiny_models

    root = tmp_path_factory.mktemp("service-world")
    tiny_models.write_hf_cache(root / "hub", {SAM3: tiny_models.sam3})
    make_test_scene(root, frames=6, width=128, height=96)
    return root / "hub", root / "synth" / "synth_0.mp4"


@pytest.fixture()
def video(world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HUB_CACHE", str(world[0]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return world[1]


@pytest.fixture()
def folder() -> Iterator[ServiceFolder]:
    """A short private folder for a socket (unix socket paths are limited to ~100 characters)."""
    root = Path(tempfile.mkdtemp(prefix="scs-"))
    yield ServiceFolder(root / "svc" / "service.sock")
    import shutil

    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def service(folder: ServiceFolder, video: Path) -> Iterator[PerceptionService]:
    """A service on a thread of this process, writing the test's shared cache."""
    from spatialclaw.config import cache_dir

    running = PerceptionService(folder, cache_dir() / "perception", workers=2)
    thread = threading.Thread(target=running.serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while read_token(folder) is None or not folder.socket.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    yield running
    running.shutdown()
    thread.join(timeout=5)


def session_args(video: Path, service: ServiceClient | None) -> dict:
    return {"source": video, "frames": 6, "perception": "segmentation=learned,reconstruction=classical",
            "perception_service": service}


def run_ok(session: KernelSession, code: str) -> str:
    result = session.execute(code, timeout=240)
    assert result.error is None, f"{result.error.ename}: {result.error.evalue}\n{result.error.traceback}"
    return result.text


def test_two_kernels_share_one_load_and_get_what_they_would_compute(service: PerceptionService, folder: ServiceFolder,
                                                                    video: Path) -> None:
    client = ServiceClient(folder)
    texts = []
    for positions in ([0, 1, 2, 3, 4, 5], [1, 3]):
        with KernelSession(**session_args(video, client)) as session:
            run_ok(session, f"m = segment('chair', frames={positions})")
            assert session.perception_info.get("model_loads") in (None, {})  # the kernel loaded nothing
            texts.append(run_ok(session, COMPARE.format(positions=positions)))
    assert texts == ["same True True\n"] * 2
    stats = client.stats()
    assert stats is not None and stats["model_loads"] == {SAM3: 1} and stats["computed"] == 2


def test_a_kernel_cannot_steer_the_service_and_computes_itself_when_none_answers(video: Path, folder: ServiceFolder) -> None:
    nobody = ServiceClient(folder)  # nothing listens there
    forged = ("try:\n    _spatialclaw_context.host_call('perception', {'family': 'segmentation', 'backend': 'learned', "
              "'positions': [0], 'query': 'chair', 'frames_file': '/etc/shadow'})\n"
              "except RuntimeError as err:\n    print(err)")
    with KernelSession(**session_args(video, nobody)) as session:
        assert "exactly the keys" in run_ok(session, forged)
        text = run_ok(session, "m = segment('chair', frames=[0, 1]); print(len(m.frame_ids) >= 0)")
        assert "perception service unavailable" in text and "not shared with later sessions" in text
        assert session.perception_info["model_loads"] == {SAM3: 1}  # computed in the kernel instead
    from spatialclaw.config import cache_dir

    assert not list((cache_dir() / "perception").rglob("*.npz"))  # and nothing reached the shared cache


def test_a_reconstruction_the_service_cannot_make_fails_in_the_kernel_once_for_all_sessions(
        service: PerceptionService, folder: ServiceFolder, video: Path) -> None:
    client = ServiceClient(folder)
    probe = ("from spatialclaw.primitives import cache\n"
             "try:\n    reconstruct(frames=[0, 1])\nexcept Exception as err:\n    print(type(err).__name__, err)\n"
             "store = cache.for_context(_spatialclaw_context); print('served', store.served, 'hits', store.hits)")
    texts = []
    for _ in range(2):
        with KernelSession(video, frames=6, perception="reconstruction=classical,segmentation=learned",
                           perception_service=client) as session:
            texts.append(run_ok(session, probe).splitlines())
    assert texts[0][0] == texts[1][0] and texts[0][0].startswith("PerceptionError")
    assert (texts[0][1], texts[1][1]) == ("served 1 hits 0", "served 0 hits 1")  # the second read the failure from the cache
    assert service.counts["computed"] == 1


def perception_args(tmp: Path, video: Path, positions: list[int]) -> dict:
    from spatialclaw.inputs.frame_cache import save_frames
    from spatialclaw.inputs.load import load_input

    frames_file = tmp / "frames.npz"
    if not frames_file.exists():
        save_frames(frames_file, load_input(video, frames=6).frames)
    return {"backend": "learned", "positions": positions, "query": "chair", "frames_file": str(frames_file),
            "source_kind": "video", "source_path": str(video), "source_files": []}


def test_requests_at_once_are_all_answered_and_one_key_is_computed_once(service: PerceptionService, folder: ServiceFolder,
                                                                        video: Path, tmp_path: Path) -> None:
    client = ServiceClient(folder)
    requests = [perception_args(tmp_path, video, p) for p in ([0, 1], [0, 1], [0, 1], [2, 3])]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda args: client.request("segment", args), requests))
    assert all(r["ok"] for r in replies), replies
    keys = [r["result"]["key"] for r in replies]
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert service.counts["computed"] == 2 and service.pool.loads == {SAM3: 1}


def raw_exchange(folder: ServiceFolder, data: bytes) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(folder.socket))
        sock.sendall(data)
        return protocol.receive_message(sock, protocol.MAX_REPLY_BYTES)


def frame(message: dict) -> bytes:
    import json

    body = json.dumps(message).encode()
    return protocol.HEADER.pack(len(body)) + body


def test_bad_requests_are_refused_and_the_service_goes_on(service: PerceptionService, folder: ServiceFolder,
                                                          video: Path, tmp_path: Path) -> None:
    token = read_token(folder)
    args = perception_args(tmp_path, video, [0])
    bad = [
        frame({"token": "0" * 64, "method": "segment", "args": args}),
        frame({"token": token, "method": "run_code", "args": {}}),
        frame({"token": token, "method": "segment", "args": {**args, "positions": ["0"]}}),
        frame({"token": token, "method": "segment", "args": {**args, "query": 7}}),
        frame({"token": token, "method": "segment", "args": {**args, "positions": [99]}}),
        protocol.HEADER.pack(protocol.MAX_REQUEST_BYTES + 1) + b"x" * 1024,
        protocol.HEADER.pack(3) + b"{x}",
    ]
    for data in bad:
        reply = raw_exchange(folder, data)
        assert reply["ok"] is False and reply["kind"] == "refused", reply
    assert service.counts["refused"] == len(bad) and service.counts["computed"] == 0
    assert ServiceClient(folder).call("ping")["pid"] == os.getpid()
    assert os.stat(folder.root).st_mode & 0o777 == 0o700 and os.stat(folder.token).st_mode & 0o777 == 0o600


def test_a_killed_service_is_started_again_by_the_next_request(folder: ServiceFolder, video: Path, tmp_path: Path) -> None:
    from spatialclaw.config import cache_dir

    managed = ManagedService(folder, cache_dir() / "perception", idle_timeout_s=60)
    try:
        managed.start()
        first = managed.call("stats")["pid"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while managed._answers():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        reply = managed.request("segment", perception_args(tmp_path, video, [0, 1]))
        assert reply["ok"] is True, reply
        second = managed.call("stats")
        assert second["pid"] != first and managed.starts == 2 and second["model_loads"] == {SAM3: 1}
        assert (cache_dir() / "perception" / "segmentation" / f"{reply['result']['key']}.npz").is_file()
    finally:
        managed.call("shutdown")
