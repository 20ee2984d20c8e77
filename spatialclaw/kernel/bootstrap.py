"""What the kernel runs at start: the names the model's code finds already defined.

The host (`spatialclaw.kernel.KernelSession`) writes a manifest (JSON) and runs
``bootstrap.run(manifest_path)`` in the fresh kernel, again after every restart. It preloads:

- ``frames`` (list of `Frame`, read from the input's frames file), ``inputs`` (list of
  `InputInfo`: the question's inputs, which ``Frame.source`` indexes), ``question``, ``options``;
- ``show(*items, caption=None)`` and ``answer(value)``;
- every registered primitive, via ``spatialclaw.primitives.install``.

It also disables ``input()`` (no one can type), turns traceback colours off, and gives the
primitives ``host_call``: a request to the host carried over the Jupyter stdin channel.

This module runs inside the kernel and imports only numpy (and PIL/matplotlib when an image is
shown) besides IPython.
"""

from __future__ import annotations

import base64
import builtins
import getpass
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

# Shared with the host (kernel.py): the protocol between the two processes.
ANSWER_MIME = "application/vnd.spatialclaw.answer+json"
HOST_CALL_PREFIX = "\x1bspatialclaw-host-call:"

INPUT_DISABLED = (
    "input() is disabled in this kernel: no one is there to type. "
    "Work from `frames`, `question`, `options` and the preloaded functions instead."
)


def _ipython() -> Any:
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        raise RuntimeError("spatialclaw.kernel.bootstrap runs inside an IPython kernel")
    return ip


# ----------------------------------------------------------------------------- show()


def to_png(item: Any) -> bytes:
    """PNG bytes of a Frame, image array, PIL image, matplotlib figure, or object with ``.render()``
    (arrays by `spatialclaw.images`' dtype/range rule)."""
    from spatialclaw.inputs.frame import Frame

    from spatialclaw.images import encode_png

    if isinstance(item, Frame):
        return encode_png(item.image, what="show()")
    if isinstance(item, np.ndarray):
        return encode_png(item, what="show()")
    if type(item).__module__.startswith("PIL.") and hasattr(item, "save"):
        return encode_png(item, what="show()")
    if hasattr(item, "savefig") and hasattr(item, "canvas"):
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        item.savefig(buf, format="png", bbox_inches="tight")
        plt.close(item)  # shown once here, not again by the inline backend at the end of the cell
        return buf.getvalue()
    if callable(getattr(item, "render", None)):
        return to_png(item.render())
    raise TypeError(
        f"show() cannot display a {type(item).__name__}: pass a Frame, an image array, a PIL image, "
        "a matplotlib figure, or an object with .render()"
    )


def show(*items: Any, caption: str | None = None) -> None:
    """Attach images to what you see after this cell.

    Args:
        items: Frames, image arrays (H×W×3 uint8 RGB, floats in [0, 1], or H×W gray), PIL images,
            matplotlib figures, or results with a ``.render()`` method (e.g. a reconstruction's view).
        caption: text printed just before the images.
    """
    from IPython.display import publish_display_data

    pngs = [to_png(item) for item in items]
    if caption:
        print(caption, flush=True)
    for png in pngs:
        publish_display_data({"image/png": base64.b64encode(png).decode("ascii")})


# ----------------------------------------------------------------------------- answer()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"answer() needs a finite number, got {value}")
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    raise TypeError(f"answer() takes a str, int, float, bool or a list of those, got {type(value).__name__}")


def answer(value: Any) -> None:
    """Give the final answer: an option letter (``"B"``), a number (metres, counts, ...), or text.

    Args:
        value: the answer; a str, int, float, bool, or a list of those.
    """
    from IPython.display import publish_display_data

    plain = _plain(value)
    publish_display_data({ANSWER_MIME: {"value": plain}, "text/plain": f"answer: {plain!r}"})


# ----------------------------------------------------------------------------- host_call / input()


def host_call(method: str, payload: dict) -> Any:
    """Ask the host process to run ``method`` with ``payload`` (JSON in, JSON out).

    Used by primitives for nested VLM questions (``"ask_vlm"``, ``"locate"``); images travel as
    base64 PNG strings. Raises RuntimeError when the host has no handler or the handler failed.
    """
    from IPython.core.error import StdinNotImplementedError

    request = json.dumps({"method": method, "payload": payload})
    try:
        raw = _ipython().kernel.raw_input(HOST_CALL_PREFIX + request)
    except StdinNotImplementedError:
        raise RuntimeError(f"host_call({method!r}) needs a host: this kernel was not started by a KernelSession") from None
    reply = json.loads(raw)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["result"]


def _disabled_input(*args: Any, **kwargs: Any) -> str:
    raise RuntimeError(INPUT_DISABLED)


def _disable_input(*args: Any) -> None:
    """pre_run_cell hook: ipykernel forwards input()/getpass() to the frontend before each cell; undo that."""
    builtins.input = _disabled_input
    getpass.getpass = _disabled_input


# ----------------------------------------------------------------------------- run()


def run(manifest_path: str) -> None:
    """Preload the kernel's namespace from the manifest the host wrote; store what was set up.

    Manifest keys: ``frames_file`` (path or null), ``question``, ``options``, ``source_kind``,
    ``source_path``, ``inputs`` (``[{"kind", "name", "frames"}]``, optional), ``perception``,
    ``cache_dir``, ``cache_layer``.
    """
    global _report
    ip = _ipython()
    ip.run_line_magic("colors", "nocolor")
    manifest = json.loads(Path(manifest_path).read_text())

    frames = []
    if manifest.get("frames_file"):
        from spatialclaw.inputs.load import load_frames

        frames = load_frames(Path(manifest["frames_file"]))

    from spatialclaw.inputs.frame import InputInfo

    inputs = [InputInfo(str(i["kind"]), str(i["name"]), [int(k) for k in i["frames"]]) for i in manifest.get("inputs") or []]
    namespace = ip.user_ns
    namespace.update(
        frames=frames,
        inputs=inputs,
        question=manifest.get("question"),
        options=manifest.get("options"),
        show=show,
        answer=answer,
    )
    if _disable_input not in ip.events.callbacks["pre_run_cell"]:
        ip.events.register("pre_run_cell", _disable_input)

    from spatialclaw import primitives

    context = primitives.KernelContext(
        frames=frames,
        source_kind=manifest.get("source_kind", "none"),
        source_path=Path(manifest["source_path"]) if manifest.get("source_path") else None,
        perception=manifest.get("perception", "auto"),
        cache_dir=Path(manifest["cache_dir"]) if manifest.get("cache_dir") else None,
        cache_layer=Path(manifest["cache_layer"]) if manifest.get("cache_layer") else None,
        host_call=host_call,
    )
    info = primitives.install(namespace, context)
    _report = {"frames": len(frames), "perception": info}


_report: dict[str, Any] = {}


def report() -> str:
    """JSON of what `run` set up: ``{"frames": N, "perception": <what install() returned>}``."""
    return json.dumps(_report, default=str)
