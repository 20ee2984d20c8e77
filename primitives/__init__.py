"""Kernel-side toolbox: the perception and geometry primitives the model calls.

Installed as ``spatialclaw.primitives``. Modules listed in `MODULES` register their functions
with ``@primitive`` (see `registry`); `install` puts them all into the kernel's namespace, each
one that takes the kernel context bound to that kernel's (`registry.bind`). Nothing here holds
a current context: a primitive reaches the kernel only through the ``context`` it is given, so
two kernels' contexts in one process never see each other's frames.
Modules here import only numpy at top level: open3d, cv2, pycolmap and torch are imported
inside the functions that need them, so a kernel starts fast.
"""

from __future__ import annotations

from typing import Any

from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.registry import MODULES, bind, load_all, primitive, registered, render_prompt_section

__all__ = [
    "MODULES", "KernelContext", "install", "load_all", "models_report", "primitive", "registered", "render_prompt_section",
]


def install(namespace: dict[str, Any], context: KernelContext) -> dict[str, Any]:
    """Put every registered primitive into ``namespace``, bound to ``context`` (`registry.bind`).

    Returns a description of the set-up that the kernel reports to the host and the trajectory
    records: ``primitives`` (names), ``perception`` (as requested) and ``backends``
    (``{family: {"backend": name, "reason": why}}``, see `backends.choose`).

    Raises:
        PerceptionError: a backend was requested explicitly that cannot serve this input.
    """
    from functools import partial

    from spatialclaw.primitives import backends, perception

    chosen = backends.choose(context)
    context.backends = {family: c["backend"] for family, c in chosen.items()}
    context.reconstruct_all = partial(perception.run_reconstruction, None, context)
    load_all()
    names = []
    for p in registered():
        namespace[p.name] = bind(p, context)
        names.append(p.name)
    return {"primitives": names, "perception": context.perception, "backends": chosen}


def models_report(context: KernelContext) -> dict[str, Any]:
    """Which learned checkpoints served so far: ``models`` (family → task → checkpoint, results read
    from the cache included) and ``model_loads`` (checkpoint → times loaded in this kernel).
    Empty before any learned result; costs nothing (torch is not imported here)."""
    report: dict[str, Any] = {}
    if context.loaded.get("served"):
        report["models"] = {family: dict(tasks) for family, tasks in context.loaded["served"].items()}
    pool = context.loaded.get("learned")
    if pool is not None:
        report["model_loads"] = dict(pool.loads)
    return report
