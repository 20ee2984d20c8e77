"""Agent benchmark: the loop's own overhead per step and the request bytes per step.

    python benchmarks/agent.py [--steps 10] [--frames 32] [--show-frames 8] [--rounds 3]

A scripted run of ``--steps`` cells against the scripted OpenAI-compatible server on 127.0.0.1
(replies instantly) through the real ``openai`` client and a real kernel, on ``--frames`` frames
of 640×480 (scikit-image's coffee photo, shifted a little per frame, so JPEG sizes are a real
photo's). Every cell prints a line; every second cell also shows a 640×480 frame, so the image
budget (8 step images kept) starts eliding in the later steps. The last cell answers.

Per step:
- ``overhead``: step wall time minus model-client time, cell time and kernel-start wait: what
  the agent itself costs (building messages, encoding images, parsing, writing the trajectory).
- ``client``: time in the model client against a server that answers at once: the openai
  package, JSON and HTTP on 127.0.0.1, i.e. the floor of the "model" time.
- ``bytes``: the request body as the server received it.
Rounds repeat the whole run; the medians over rounds are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def scripted_cells(steps: int) -> list[str]:
    """Cells 1..steps: print, show a frame every second step, answer at the last."""
    replies = []
    for k in range(1, steps + 1):
        code = f"v{k} = {k} * 2\nprint('step {k}:', v{k}, len(frames))"
        if k % 2 == 0:
            code += f"\nshow(frames[{k} % len(frames)])"
        if k == steps:
            code += f"\nanswer(v{k})"
        replies.append(f"Step {k}: measuring the next quantity.\n```python\n{code}\n```")
    return replies


def make_input(folder: Path, n_frames: int):
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames

    from PIL import Image
    from skimage import data

    base = np.asarray(Image.fromarray(data.coffee()).resize((640, 480), Image.Resampling.BICUBIC))
    frames = [Frame(index=k, time=k / 10, image=np.roll(base, 7 * k, axis=1)) for k in range(n_frames)]
    save_frames(folder / "frames.npz", frames)
    return LoadedInput("video", [folder / "synthetic.mp4"], frames, folder / "frames.npz", 10.0, n_frames, None)


def one_round(steps: int, n_frames: int, show_frames: int, folder: Path) -> list[dict]:
    from spatialclaw.agent.loop import Agent
    from spatialclaw.models.openai_compat import OpenAICompatClient
    from spatialclaw.testing.scripted_vlm import ScriptedVLM

    loaded = make_input(folder, n_frames)
    with ScriptedVLM(scripted_cells(steps)) as vlm:
        agent = Agent(
            OpenAICompatClient(vlm.model, base_url=vlm.base_url), max_steps=steps, show_frames=show_frames
        )
        result = agent.run(loaded, "How far apart are the two chairs?", out=folder / "run")
        sizes = [r.size_bytes for r in vlm.requests]
    assert result.answered and len(result.steps) == steps, "the scripted run must answer at its last step"
    return [
        {
            "step": s.index,
            "overhead_s": s.overhead_s,
            "client_s": s.model_s,
            "cell_s": s.cell_s,
            "step_s": s.step_s,
            "bytes": size,
            "images": s.images_sent,
            "elided": s.images_elided,
        }
        for s, size in zip(result.steps, sizes)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--show-frames", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    rounds = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
            start = time.perf_counter()
            rounds.append(one_round(args.steps, args.frames, args.show_frames, Path(tmp)))
            print(f"round {r + 1}: {time.perf_counter() - start:.1f} s wall (kernel start included)")

    def med(step: int, key: str) -> float:
        return statistics.median(rnd[step][key] for rnd in rounds)

    print(f"\n{args.steps}-step scripted run, {args.frames} frames 640x480, {args.show_frames} shown; medians of {args.rounds} rounds")
    print(f"{'step':>4} {'overhead ms':>12} {'client ms':>10} {'cell ms':>8} {'step ms':>8} {'bytes':>9} {'images':>7} {'elided':>7}")
    for i in range(args.steps):
        print(
            f"{i + 1:>4} {1000 * med(i, 'overhead_s'):>12.1f} {1000 * med(i, 'client_s'):>10.1f} "
            f"{1000 * med(i, 'cell_s'):>8.1f} {1000 * med(i, 'step_s'):>8.1f} {int(med(i, 'bytes')):>9} "
            f"{int(med(i, 'images')):>7} {int(med(i, 'elided')):>7}"
        )
    overhead = [med(i, "overhead_s") for i in range(args.steps)]
    step_time = [med(i, "step_s") for i in range(args.steps)]
    sizes = [med(i, "bytes") for i in range(args.steps)]
    print(
        f"\nagent overhead per step: median {1000 * statistics.median(overhead):.1f} ms, max {1000 * max(overhead):.1f} ms; "
        f"{100 * sum(overhead) / sum(step_time):.1f}% of step wall time with an instant model"
    )
    print(
        f"request bytes per step: first {int(sizes[0])}, last {int(sizes[-1])}, mean {int(statistics.mean(sizes))}; "
        f"total {int(sum(sizes))} for {args.steps} steps"
    )


if __name__ == "__main__":
    main()
