"""What the kernel runs at start: the names the model's code finds already defined.

The host (`spatialclaw.kernel.KernelSession`) writes a manifest (JSON) and runs
``bootstrap.run(manifest_path)`` in the fresh kernel, again after every restart. It preloads:

- ``frames`` (list of `Frame`, read from the input's frames file), ``inputs`` (list of
  `InputInfo`: the question's inputs, which ``Frame.source`` indexes), ``question``, ``options``;
- every registered primitive, via ``spatialclaw.primitives.install``, ``show(*items, caption=None)``
  and ``answer(value)`` (`spatialclaw.primitives.output`) among them;
- ``_spatialclaw_context`` (`CONTEXT_NAME`): the kernel's `KernelContext`, which the primitives
  are bound to and `report` reads. The prompt does not mention it (nor does ``%who``: the name
  starts with an underscore); tests and tools running cells reach the kernel's state through it.

It also disables ``input()`` (no one can type), turns traceback colours off, shows a
`SpatialClawError` raised in a cell as its one-line message (no traceback), and gives the
primitives ``host_call``: a request to the host carried over the Jupyter stdin channel.

This module runs inside the kernel and imports only numpy (and PIL/matplotlib when an image is
shown) besides IPython.
"""

from __future__ import annotations

import builtins
import getpass
import json
from pathlib import Path
from typing import Any

from spatialclaw.primitives.output import ANSWER_MIME, answer, to_png

__all__ = ["ANSWER_MIME", "CONTEXT_NAME", "HOST_CALL_PREFIX", "answer", "host_call", "report", "run", "to_png"]

# Shared with the host (kernel.py): the protocol between the two processes (the answer's MIME
# type is `spatialclaw.primitives.output`'s).
HOST_CALL_PREFIX = "\x1bspatialclaw-host-call:"

CONTEXT_NAME = "_spatialclaw_context"
"""The kernel namespace's name for its `KernelContext` (private: the model is not told of it)."""


def _ipython() -> Any:
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        raise RuntimeError("spatialclaw.kernel.bootstrap runs inside an IPython kernel")
    return ip


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
    from spatialclaw.errors import INPUT_DISABLED_TEXT

    raise RuntimeError(INPUT_DISABLED_TEXT)


def _disable_input(*args: Any) -> None:
    """pre_run_cell hook: ipykernel forwards input()/getpass() to the frontend before each cell; undo that."""
    builtins.input = _disabled_input
    getpass.getpass = _disabled_input


# ----------------------------------------------------------------------------- one-line errors


def _one_line_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    """IPython custom exception handler: a SpatialClawError shows as its one-line message, no traceback.

    These errors (a perception backend refusing the input, a missing model) are complete
    messages saying what to do; the frames of SpatialClaw's own code behind them say nothing
    to the model.
    """
    stb = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, stb)
    return stb


# ----------------------------------------------------------------------------- run()


def run(manifest_path: str) -> None:
    """Preload the kernel's namespace from the manifest the host wrote; store what was set up.

    Manifest keys: ``frames_file`` (path or null), ``question``, ``options``, ``source_kind``,
    ``source_path``, ``source_files`` (an image sequence's files, optional), ``inputs``
    (``[{"kind", "name", "frames"}]``, optional), ``perception``, ``cache_dir``, ``cache_layer``, ``perception_service`` (optional).
    """
    from spatialclaw import primitives
    from spatialclaw.errors import SpatialClawError

    ip = _ipython()
    try:
        _preload(ip, json.loads(Path(manifest_path).read_text()))
    except SpatialClawError as err:
        if err.refusal_kind is None:
            raise
        # the host raises it as the same kind of error (`errors.refusal_from_report`)
        refused = {"frames": 0, "refused": {"kind": err.refusal_kind, "message": str(err)}}
        ip.user_ns[CONTEXT_NAME] = primitives.KernelContext(frames=[], setup=refused)


def _preload(ip: Any, manifest: dict[str, Any]) -> None:
    ip.run_line_magic("colors", "nocolor")

    frames = []
    if manifest.get("frames_file"):
        from spatialclaw.inputs.frame_cache import load_frames

        frames = load_frames(Path(manifest["frames_file"]))

    from spatialclaw.inputs.frame import InputInfo

    inputs = [InputInfo(str(i["kind"]), str(i["name"]), [int(k) for k in i["frames"]]) for i in manifest.get("inputs") or []]
    namespace = ip.user_ns
    namespace.update(
        frames=frames,
        inputs=inputs,
        question=manifest.get("question"),
        options=manifest.get("options"),
        answer=answer,
    )
    if _disable_input not in ip.events.callbacks["pre_run_cell"]:
        ip.events.register("pre_run_cell", _disable_input)
    from spatialclaw.errors import SpatialClawError

    ip.set_custom_exc((SpatialClawError,), _one_line_error)

    from spatialclaw import primitives

    context = primitives.KernelContext(
        frames=frames,
        source_kind=manifest.get("source_kind", "none"),
        source_path=Path(manifest["source_path"]) if manifest.get("source_path") else None,
        source_files=[Path(p) for p in manifest.get("source_files") or []],
        perception=manifest.get("perception", "auto"),
        cache_dir=Path(manifest["cache_dir"]) if manifest.get("cache_dir") else None,
        cache_layer=Path(manifest["cache_layer"]) if manifest.get("cache_layer") else None,
        host_call=host_call,
        perception_service=manifest.get("perception_service") is True,
    )
    namespace[CONTEXT_NAME] = context
    context.setup = {"frames": len(frames), "perception": primitives.install(namespace, context)}


def report() -> str:
    """JSON of what `run` set up: ``{"frames": N, "perception": <what install() returned>}``, with
    the learned models that served so far (``perception.models``, ``perception.model_loads``)."""
    from spatialclaw import primitives

    context = _ipython().user_ns[CONTEXT_NAME]
    setup = context.setup
    live = {**setup, "perception": {**setup.get("perception", {}), **primitives.models_report(context)}}
    return json.dumps(live, default=str)
