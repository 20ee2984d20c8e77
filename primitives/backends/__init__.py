"""Perception backends: ground truth, classical (no weights) and learned (transformers).

Each backend is a class that keeps the `PerceptionBackend` protocol (``backends/base.py``):
``available(family, context)``, ``reconstruct``, ``segment``, ``track``. `load_backend` builds
one by name; the kernel's choice lives in ``context.backends``.

`choose` picks one backend per selectable family (`FAMILIES`) from the ``perception`` setting
(``auto``, ``gt``, ``learned``, ``classical``, or per family:
``"reconstruction=gt,segmentation=classical"``); ``auto`` takes gt where the input carries it,
else learned where weights are found, else classical. The choice is recorded in the context and
returned by ``install``. Tracking is served by the segmentation family's backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from spatialclaw.errors import NO_3D_INPUT_TEXT, PerceptionError, no_motion_text, use_backend_text
from spatialclaw.primitives.backends.base import ALL_FAMILIES, MIN_FRAMES, BackendBase, PerceptionBackend

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

__all__ = [
    "BACKENDS", "FAMILIES", "BackendBase", "PerceptionBackend", "choose", "get", "load_backend",
    "parse_perception", "unavailable_reason",
]

FAMILIES = ("reconstruction", "segmentation")
BACKENDS = ("gt", "learned", "classical")
_CLASSES: dict[str, tuple[str, str]] = {
    "gt": ("spatialclaw.primitives.backends.gt", "GroundTruthBackend"),
    "learned": ("spatialclaw.primitives.backends.learned.backend", "LearnedBackend"),
    "classical": ("spatialclaw.primitives.backends.classical", "ClassicalBackend"),
}


def load_backend(name: str) -> PerceptionBackend | None:
    """The backend called ``name``; None when its module cannot be imported here."""
    if name not in _CLASSES:
        return None
    module_name, class_name = _CLASSES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    backend = getattr(module, class_name)()
    if not isinstance(backend, PerceptionBackend):
        raise TypeError(f"{module_name}.{class_name} does not keep the PerceptionBackend protocol")
    return backend


def unavailable_reason(name: str, family: str, context: KernelContext) -> str | None:
    """Why backend ``name`` cannot serve ``family`` for this input; None when it can."""
    backend = load_backend(name)
    if backend is None:
        return f"the {name} backend cannot be imported here"
    return backend.available(family, context)


def parse_perception(perception: str) -> dict[str, str]:
    """``"auto"`` → every family auto; ``"reconstruction=gt,segmentation=auto"`` → per family.

    Raises:
        PerceptionError: an unknown backend or family name.
    """
    allowed = ("auto",) + BACKENDS
    spec = (perception or "auto").strip().lower()
    if "=" not in spec:
        if spec not in allowed:
            raise PerceptionError.unknown_perception(perception, allowed)
        return dict.fromkeys(FAMILIES, spec)
    chosen = dict.fromkeys(FAMILIES, "auto")
    for part in filter(None, (p.strip() for p in spec.split(","))):
        family, _, value = part.partition("=")
        if family.strip() not in FAMILIES or value.strip() not in allowed:
            raise PerceptionError.bad_setting(part, FAMILIES, allowed)
        chosen[family.strip()] = value.strip()
    return chosen


def choose(context: KernelContext) -> dict[str, dict[str, str]]:
    """Pick the backend of each family for this input.

    Returns:
        ``{family: {"backend": name, "reason": why}}``.

    Raises:
        PerceptionError: a backend was asked for explicitly and cannot serve this input.
    """
    requested = parse_perception(context.perception)
    result: dict[str, dict[str, str]] = {}
    for family, want in requested.items():
        if want != "auto":
            reason = unavailable_reason(want, family, context)
            if reason is not None:
                raise PerceptionError.cannot_serve(want, family, reason, _way_out(family, context, want))
            result[family] = {"backend": want, "reason": "requested"}
            continue
        skipped = []
        for name in BACKENDS:
            reason = unavailable_reason(name, family, context)
            if reason is None:
                result[family] = {"backend": name, "reason": "auto: " + ("; ".join(skipped) or f"{name} available")}
                break
            skipped.append(reason)
        else:
            result[family] = {"backend": "none", "reason": "auto: " + "; ".join(skipped)}
    return result


def get(family: str, context: KernelContext) -> PerceptionBackend:
    """The chosen backend for ``family`` (``reconstruction``, ``segmentation`` or ``tracking``).

    Raises:
        PerceptionError: no backend can serve the family for this input.
    """
    if family not in ALL_FAMILIES:
        raise PerceptionError.unknown_family(family, ALL_FAMILIES)
    if not context.backends:
        context.backends = {f: c["backend"] for f, c in choose(context).items()}
    name = context.backends.get(family) or context.backends.get("segmentation", "none")
    backend = load_backend(name) if name in BACKENDS else None
    if backend is None or family not in backend.families:
        served = family if family in FAMILIES else "segmentation"
        reasons = "; ".join(r for b in BACKENDS if (r := unavailable_reason(b, served, context)))
        raise PerceptionError.no_backend(family, reasons, _way_out(served, context))
    return backend


def _way_out(family: str, context: KernelContext, refused: str | None = None) -> str:
    """What the user can do instead, never the setting that just failed: another backend that
    can serve ``family`` here, else what this input allows and what input would do."""
    others = [b for b in BACKENDS if b != refused and unavailable_reason(b, family, context) is None]
    if others:
        return use_backend_text(family, others[0], refused=refused is not None)
    if context.source_kind != "rgbd" and len(context.frames) < MIN_FRAMES:
        return no_motion_text(family, len(context.frames))
    return NO_3D_INPUT_TEXT
