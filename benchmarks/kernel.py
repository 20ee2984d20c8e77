"""Kernel benchmarks: per-cell cost, an agent step's kernel work, sandbox start-up cost.

    python benchmarks/kernel.py [--pairs 200] [--starts 6] [--sampling]

Every comparison is *paired*: the two sides run one after the other, cell by cell (or start by
start), in alternating order, so that machine noise (2 shared cores) hits both alike; what is
reported is the median of the per-pair ratios (or differences) with its spread (25th–75th
percentile), not a ratio of medians taken at different moments.

1. Per-cell cost: ``KernelSession.execute`` (default sandbox) vs a bare jupyter_client round
   trip (execute_request → outputs → idle + execute_reply, same IPC transport), trivial cell.
2. An agent step's kernel work: ``execute`` of a cell that prints and shows a 640×480 photo-like
   image (random pixels: the worst case) as ``show()`` sends it (JPEG, encoded in the kernel: the
   cell's own cost, in both sides), the host-side image checks (`spatialclaw.images.image_size`),
   the images as sent to the model and the observation text, vs the bare round trip of the same
   cell. Goal: median ratio <= 1.5. The same with the image published as PNG (what a library's
   own display sends) shows the host's decode-and-re-encode path.
3. Sandbox start-up: start-to-ready of a session with bubblewrap vs ``--sandbox none`` (paired
   starts), and the session's real wrapper command line running ``/bin/true`` vs ``/bin/true``
   bare. Goal: < 0.3 s added.
4. Start-to-ready with 32 frames of 640×480 preloaded; ``--sampling``: frame sampling throughput
   (``benchmarks/sampling.py``).
5. ``--input-mb N`` (as root): what an input the kernel's uid cannot read costs at session start:
   its session copy (`spatialclaw.kernel.access.kernel_copies`, an N MiB file of mode 0600) vs a
   world-readable one (bound as it is, nothing copied).
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn()`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paired(first: Callable[[], object], second: Callable[[], object], pairs: int) -> tuple[list[float], list[float]]:
    """Times of ``pairs`` calls of each, interleaved call by call, the order alternating per pair."""
    a, b = [], []
    for k in range(pairs):
        if k % 2 == 0:
            a.append(timed(first))
            b.append(timed(second))
        else:
            b.append(timed(second))
            a.append(timed(first))
    return a, b


def spread(values: list[float]) -> str:
    """``median [p25, p75]`` of ``values``."""
    q = np.percentile(values, [25, 50, 75])
    return f"{q[1]:.2f} [{q[0]:.2f}, {q[2]:.2f}]"


def report_pairs(title: str, ours: list[float], bare: list[float], goal: float) -> None:
    ratios = [o / b for o, b in zip(ours, bare)]
    print(title)
    print(f"  bare round trip        {1000 * statistics.median(bare):7.2f} ms (median)")
    print(f"  SpatialClaw            {1000 * statistics.median(ours):7.2f} ms (median)")
    print(f"  per-pair ratio         {spread(ratios)}  (median [p25, p75]; goal <= {goal})")


def image_cell_setup() -> str:
    """Code that defines ``SHOWN`` (MIME type, base64) of a 640×480 random-pixel image as ``show()``
    sends it, and ``PNG`` (its PNG as base64), in a kernel (bare or session alike)."""
    from spatialclaw.images import encode_for_model, encode_png

    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8)
    mime, data = encode_for_model(image)
    return f"SHOWN = {(mime, base64.b64encode(data).decode())!r}\nPNG = {base64.b64encode(encode_png(image)).decode()!r}"


IMAGE_CELL = (
    "from IPython.display import publish_display_data\n"
    "print('objects:', 3)\n"
    "publish_display_data({SHOWN[0]: SHOWN[1]})"
)
PNG_CELL = IMAGE_CELL.replace("{SHOWN[0]: SHOWN[1]}", "{'image/png': PNG}")


def cell_cost(pairs: int) -> None:
    from spatialclaw.agent.kernel_images import images_for_model
    from spatialclaw.agent.steps import observe_cell
    from spatialclaw.kernel.session import KernelSession

    budgets = {"image_budget": 10**9, "image_bytes_budget": 10**15}  # every image of the benchmark comes back
    with tempfile.TemporaryDirectory(prefix="sck-bench-") as runtime, KernelSession(**budgets) as session:
        bare = BareKernel(Path(runtime))
        try:
            setup = image_cell_setup()
            bare.round_trip(setup)
            session.execute(setup)
            for _ in range(20):  # warm both up
                bare.round_trip(CELL)
                session.execute(CELL)
            ours, base = paired(lambda: session.execute(CELL), lambda: bare.round_trip(CELL), pairs)
            report_pairs(f"per-cell cost ({pairs} pairs, cell '{CELL}', {session.sandbox_info['kind']} sandbox):", ours, base, 1.3)

            def agent_step(cell: str) -> Callable[[], None]:
                def step() -> None:
                    result = session.execute(cell)
                    _, sent, notices = images_for_model(result.images, 768)
                    assert len(sent) == 1, notices
                    result.notices += notices
                    observe_cell(result, cells_left=5, total=12)
                return step

            steps = max(20, pairs // 4)
            ours, base = paired(agent_step(IMAGE_CELL), lambda: bare.round_trip(IMAGE_CELL), steps)
            report_pairs(f"agent step's kernel work ({steps} pairs: execute + a 640x480 photo as show() sends it, "
                         "checked + observation):", ours, base, 1.5)
            ours, base = paired(agent_step(PNG_CELL), lambda: bare.round_trip(PNG_CELL), steps)
            report_pairs(f"the same with the photo published as PNG ({steps} pairs: decoded and re-encoded as JPEG "
                         "on the host):", ours, base, 1.5)
        finally:
            bare.close()


def start_to_ready(starts: int) -> None:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames
    from spatialclaw.kernel.session import KernelSession

    rng = np.random.default_rng(0)
    frames = [Frame(index=10 * k, time=k / 3.0, image=rng.integers(0, 256, (480, 640, 3), np.uint8)) for k in range(32)]
    with tempfile.TemporaryDirectory(prefix="sck-bench-") as folder:
        frames_file = Path(folder) / "frames.npz"
        save_frames(frames_file, frames)
        source = LoadedInput("video", [Path(folder) / "bench.mp4"], frames, frames_file, 30.0, 320)

        def bare_start() -> None:
            BareKernel(Path(folder)).close()

        def session_start() -> None:
            with KernelSession(source) as session:
                assert session.frame_count == 32

        ours, base = paired(session_start, bare_start, starts)
    print(f"kernel start to ready and shutdown ({starts} pairs):")
    print(f"  bare ipykernel                           {statistics.median(base):6.2f} s (median)")
    print(f"  KernelSession, 32 frames 640x480 loaded  {statistics.median(ours):6.2f} s (median)")


def sandbox_start_cost(starts: int, wraps: int = 20) -> None:
    """What bubblewrap adds to a kernel's start: paired start-to-ready, and the wrapper alone."""
    import subprocess

    from spatialclaw.kernel.sandbox import SessionFolders, bwrap_available, plan_sandbox
    from spatialclaw.kernel.session import KernelSession

    works, why = bwrap_available()
    if not works:
        print(f"sandbox start-up cost: skipped ({why})")
        return

    def start(mode: str) -> Callable[[], None]:
        def run() -> None:
            with KernelSession(sandbox=mode) as session:
                assert session.sandbox_info["kind"] == mode
        return run

    wrapped_s, bare_s = paired(start("bwrap"), start("none"), starts)
    added = [w - b for w, b in zip(wrapped_s, bare_s)]
    with tempfile.TemporaryDirectory(prefix="sck-bench-") as folder:
        paths = [Path(folder) / name for name in ("work", "sockets", "runtime", "shared", "layer", "config")]
        for path in paths:
            path.mkdir()
        plan = plan_sandbox("bwrap", SessionFolders(*paths))
        try:
            wrapper, bare = paired(lambda: subprocess.run([*plan.prefix, "/bin/true"], check=True, env=plan.env),
                                   lambda: subprocess.run(["/bin/true"], check=True), wraps)
        finally:
            plan.release()
    print(f"sandbox start-up cost ({starts} paired starts, start to ready and shutdown):")
    print(f"  no sandbox             {statistics.median(bare_s):6.2f} s (median)")
    print(f"  bubblewrap             {statistics.median(wrapped_s):6.2f} s (median)")
    print(f"  added per pair         {spread(added)} s  (median [p25, p75]; goal < 0.3 s)")
    print(f"  the wrapper alone      {1000 * statistics.median(w - b for w, b in zip(wrapper, bare)):6.1f} ms added "
          f"({wraps} pairs of /bin/true)")


def input_copy_cost(megabytes: int, repeats: int = 3) -> None:
    """Seconds to make the session copy of an unreadable ``megabytes`` MiB input vs a readable one."""
    import os
    import shutil

    from spatialclaw.kernel.access import kernel_copies

    with tempfile.TemporaryDirectory(prefix="sck-bench-input-") as folder:
        video = Path(folder) / "big.mp4"
        with open(video, "wb") as f:
            block = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
            for _ in range(megabytes):
                f.write(block)
        copies, binds = [], []
        for k in range(repeats):
            for mode, times in ((0o600, copies), (0o644, binds)):
                os.chmod(video, mode)
                session = Path(folder) / f"session-{k}-{mode:o}"
                start = time.perf_counter()
                made = kernel_copies([video], session, 4242, through_parents=False)
                times.append(time.perf_counter() - start)
                assert bool(made) == (mode == 0o600)
                shutil.rmtree(session, ignore_errors=True)
    print(f"an input of {megabytes} MiB the kernel's uid cannot read ({repeats} starts each):")
    print(f"  session copy           {statistics.median(copies):6.3f} s (median), {megabytes / statistics.median(copies):6.0f} MiB/s")
    print(f"  world-readable (bind)  {1000 * statistics.median(binds):6.2f} ms (median)")


def frame_sampling() -> None:
    import sampling  # benchmarks/sampling.py

    sampling.main([])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="paired cells (trivial); a quarter as many agent steps")
    parser.add_argument("--starts", type=int, default=6, help="paired kernel starts")
    parser.add_argument("--sampling", action="store_true", help="also run benchmarks/sampling.py")
    parser.add_argument("--input-mb", type=int, default=0, help="also measure copying an unreadable input this big (root)")
    args = parser.parse_args(argv)
    if args.input_mb:
        input_copy_cost(args.input_mb)
    cell_cost(args.pairs)
    sandbox_start_cost(args.starts)
    start_to_ready(max(2, args.starts // 2))
    if args.sampling:
        frame_sampling()


if __name__ == "__main__":
    main()
