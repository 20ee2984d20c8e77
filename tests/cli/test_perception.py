"""``spatialclaw perception serve`` runs a service on its own; ``exec --perception-service SOCKET``
sends the kernel's perception there; ``perception stats`` shows what it loaded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cli_runner import run_cli

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.slow


def test_serve_then_exec_against_it_then_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from spatialclaw.synth import make_test_scene
    from spatialclaw.testing import tiny_models

    tiny_models.write_hf_cache(tmp_path / "hub", {"facebook/sam3": tiny_models.sam3})
    make_test_scene(tmp_path, frames=4, width=96, height=72)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runtime = Path(tempfile.mkdtemp(prefix="scp-"))
    sock = runtime / "svc" / "service.sock"
    server = subprocess.Popen([sys.executable, "-m", "spatialclaw", "perception", "serve", "--socket", str(sock)],
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not (sock.parent / "token").exists():
            assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
            time.sleep(0.1)
        cell = "m = segment('chair'); print('masks', len(m) >= 0)"
        code, out, err = run_cli(["exec", str(tmp_path / "synth" / "synth_0.mp4"), "--frames", "4", "--json",
                                  "--perception", "segmentation=learned,reconstruction=classical",
                                  "--perception-service", str(sock), "-c", cell], capsys)
        assert code == 0, err
        document = json.loads(out)
        assert document["cells"][0]["error"] is None and "masks True" in document["cells"][0]["text"]
        assert "model_loads" not in document["perception"]  # the kernel loaded nothing itself
        code, out, err = run_cli(["perception", "stats", "--socket", str(sock)], capsys)
        assert code == 0, err
        stats = json.loads(out)
        assert stats["model_loads"] == {"facebook/sam3": 1} and stats["computed"] == 1
        assert oct(sock.parent.stat().st_mode & 0o777) == "0o700"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert sock.parent.is_dir() and not sock.exists() and not (sock.parent / "token").exists()
        code, _, err = run_cli(["perception", "stats", "--socket", str(sock)], capsys)
        assert code != 0 and "no perception service answers" in err
    finally:
        if server.poll() is None:
            server.kill()
        shutil.rmtree(runtime, ignore_errors=True)
