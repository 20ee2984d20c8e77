"""Kernel benchmarks: per-cell overhead, start-to-ready with frames, and frame sampling throughput.

    python benchmarks/kernel.py [--cells 200] [--rounds 5] [--starts 5]

1. Per-cell round trip of ``KernelSession.execute`` against a bare jupyter_client round trip
   (execute_request → outputs → idle + execute_reply, same IPC transport), both on trivial cells,
   interleaved in rounds so that machine noise hits both alike. Goal: median ratio <= 1.3.
2. Kernel start-to-ready: a bare ipykernel (jupyter_client start + wait_for_ready), and a
   ``KernelSession`` with 32 frames of 640×480 preloaded (start, bootstrap, primitives installed).
3. Sandbox start-up cost: start-to-ready with bubblewrap vs without, same run (goal < 0.3 s added).
4. Frame sampling throughput: ``benchmarks/sampling.py`` (cold decode and cached, vs OpenCV).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

CELL = "x = 1"


class BareKernel:
    """A plain ipykernel driven by jupyter_client, as a baseline (IPC transport like KernelSession)."""

    def __init__(self, runtime: Path) -> None:
        from jupyter_client import KernelManager

        self.km = KernelManager(transport="ipc", ip=str(runtime / "ipc"), connection_file=str(runtime / "bare.json"))
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels(hb=False)
        self.kc.wait_for_ready(timeout=60)

    def round_trip(self, code: str) -> None:
        """One cell through the channels' own (synchronous) get_msg: the fastest path jupyter_client offers."""
        msg_id = self.kc.execute(code)
        iopub, shell = self.kc.iopub_channel, self.kc.shell_channel
        while True:
            msg = iopub.get_msg(timeout=10)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        while shell.get_msg(timeout=10)["parent_header"].get("msg_id") != msg_id:
            pass

    def round_trip_client_api(self, code: str) -> None:
        """One cell through ``BlockingKernelClient.get_iopub_msg`` / ``get_shell_msg`` (an event loop per call)."""
        msg_id = self.kc.execute(code)
        while True:
            msg = self.kc.get_iopub_msg(timeout=10)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        while self.kc.get_shell_msg(timeout=10)["parent_header"].get("msg_id") != msg_id:
            pass

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def timed(fn, n: int) -> list[float]:
    """Seconds of each of ``n`` calls of ``fn()``."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def cell_overhead(cells: int, rounds: int) -> None:
    from spatialclaw.kernel.session import KernelSession

    with tempfile.TemporaryDirectory(prefix="sck-bench-") as runtime, KernelSession() as session:
        bare = BareKernel(Path(runtime))
        try:
            for _ in range(20):  # warm both up
                bare.round_trip(CELL)
                session.execute(CELL)
            bare_times, api_times, session_times = [], [], []
            for _ in range(rounds):
                bare_times += timed(lambda: bare.round_trip(CELL), cells)
                api_times += timed(lambda: bare.round_trip_client_api(CELL), cells)
                session_times += timed(lambda: session.execute(CELL), cells)
        finally:
            bare.close()
    bare_ms = 1000 * statistics.median(bare_times)
    api_ms = 1000 * statistics.median(api_times)
    session_ms = 1000 * statistics.median(session_times)
    print(f"cell round trip ({rounds}x{cells} cells '{CELL}', medians):")
    print(f"  bare jupyter_client, channel get_msg   {bare_ms:7.2f} ms")
    print(f"  bare jupyter_client, get_iopub_msg API {api_ms:7.2f} ms")
    print(f"  KernelSession.execute                  {session_ms:7.2f} ms")
    print(f"  ratio to the channel baseline          {session_ms / bare_ms:7.2f}  (goal <= 1.3)")


def start_to_ready(starts: int) -> None:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.inputs.load import LoadedInput, save_frames
    from spatialclaw.kernel.session import KernelSession

    rng = np.random.default_rng(0)
    frames = [Frame(index=10 * k, time=k / 3.0, image=rng.integers(0, 256, (480, 640, 3), np.uint8)) for k in range(32)]
    with tempfile.TemporaryDirectory(prefix="sck-bench-") as folder:
        frames_file = Path(folder) / "frames.npz"
        save_frames(frames_file, frames)
        source = LoadedInput(
            kind="video", paths=[Path(folder) / "bench.mp4"], frames=frames, frames_file=frames_file,
            source_fps=30.0, source_frame_count=320, rgbd=None,
        )
        bare_s, session_s = [], []
        for k in range(starts):
            start = time.perf_counter()
            bare = BareKernel(Path(folder))
            bare_s.append(time.perf_counter() - start)
            bare.close()
            session = KernelSession(source)
            start = time.perf_counter()
            session.start()
            session_s.append(time.perf_counter() - start)
            assert session.frame_count == 32
            session.shutdown()
    print(f"kernel start to ready ({starts} starts, medians):")
    print(f"  bare ipykernel                          {statistics.median(bare_s):6.2f} s")
    print(f"  KernelSession, 32 frames 640x480 loaded {statistics.median(session_s):6.2f} s")


def sandbox_start_cost(starts: int, wraps: int = 20) -> None:
    """What bubblewrap adds to a kernel's start: paired start-to-ready times and the bare wrapper.

    1. Start-to-ready of a KernelSession without input, bubblewrap vs no sandbox, interleaved in
       pairs (wall clock, noisy on a shared machine), with the kernel's own CPU seconds up to ready.
    2. The sandbox wrapper alone: the session's real bwrap command line running ``/bin/true``
       against ``/bin/true`` (namespaces, mounts, cgroup join). Goal: < 0.3 s added per kernel.
    """
    import subprocess

    from spatialclaw.kernel.session import KernelSession
    from spatialclaw.kernel.sandbox import bwrap_available, plan_sandbox

    works, why = bwrap_available()
    if not works:
        print(f"sandbox start-up cost: skipped ({why})")
        return
    wall: dict[str, list[float]] = {"none": [], "bwrap": []}
    cpu: dict[str, list[float]] = {"none": [], "bwrap": []}
    for k in range(starts):
        for mode in ("none", "bwrap") if k % 2 == 0 else ("bwrap", "none"):
            start = time.perf_counter()
            with KernelSession(sandbox=mode) as session:
                wall[mode].append(time.perf_counter() - start)
                assert session.sandbox_info["kind"] == mode
                cpu[mode].append(float(session.execute("import time\nprint(time.process_time())").text))
    paired = statistics.median(b - n for b, n in zip(wall["bwrap"], wall["none"]))
    with tempfile.TemporaryDirectory(prefix="sck-bench-") as folder:
        dirs = [Path(folder) / name for name in ("work", "runtime", "cache")]
        for path in dirs:
            path.mkdir()
        plan = plan_sandbox("bwrap", workdir=dirs[0], runtime_dir=dirs[1], cache_dir=dirs[2])
        try:
            bare = timed(lambda: subprocess.run(["/bin/true"], check=True), wraps)
            wrapped = timed(lambda: subprocess.run([*plan.prefix, "/bin/true"], check=True, env=plan.env), wraps)
        finally:
            plan.release()
    print(f"sandbox start-up cost ({starts} starts each, interleaved, medians):")
    for mode, label in (("none", "no sandbox"), ("bwrap", "bubblewrap")):
        print(f"  {label}, start to ready            {statistics.median(wall[mode]):6.2f} s"
              f"  (kernel CPU {statistics.median(cpu[mode]):.2f} s)")
    print(f"  added by the sandbox, paired starts {paired:+6.2f} s")
    print(f"  the wrapper alone (/bin/true, {wraps}x)  {1000 * statistics.median(wrapped):6.1f} ms"
          f"  vs {1000 * statistics.median(bare):.1f} ms bare  (goal: added < 300 ms)")


def frame_sampling() -> None:
    import sampling  # benchmarks/sampling.py

    sampling.main([])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200, help="cells per round and per kind")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of bare / session cells")
    parser.add_argument("--starts", type=int, default=5, help="kernel starts to time")
    args = parser.parse_args(argv)
    cell_overhead(args.cells, args.rounds)
    start_to_ready(args.starts)
    sandbox_start_cost(args.starts)
    frame_sampling()


if __name__ == "__main__":
    main()
