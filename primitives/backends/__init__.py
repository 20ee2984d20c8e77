"""Perception backends: ground truth, classical (no weights) and learned (transformers).

Two perception *families* are served by backends:

- ``reconstruction``: ``reconstruct(frames: list[Frame], context: KernelContext) -> Reconstruction``
- ``segmentation``: ``segment(query: str, frames: list[Frame], context: KernelContext) -> Masks``

A backend module (``gt``, ``classical``, ``learned``) defines those functions for the families
it serves, and may define ``available(family, context) -> str | None`` (None when it can run,
else the reason it cannot). Results are relative to the ``frames`` passed in: entry ``i`` of a
Reconstruction and ``frame_ids == i`` of Masks refer to ``frames[i]``; the primitives map them to
positions in the kernel's ``frames``. Results must be in the world frame of design.md: metric,
+z up, floor at z = 0.

`choose` picks one backend per family from the ``perception`` setting (``auto``, ``gt``,
``learned``, ``classical``, or per family: ``"reconstruction=gt,segmentation=classical"``);
``auto`` takes gt where the input carries it, else learned where weights are found, else
classical. The choice is recorded in the context and returned by ``install``.

The learned backend's reconstruction is `learned_reconstruction`: classical camera poses with
the learned model's dense depth aligned to them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from spatialclaw.errors import PerceptionError

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

FAMILIES = ("reconstruction", "segmentation")
BACKENDS = ("gt", "learned", "classical")
_ENTRY = {"reconstruction": "reconstruct", "segmentation": "segment"}


def _module(name: str, family: str | None = None) -> ModuleType | None:
    """The module serving ``family`` for backend ``name``.

    The learned backend's reconstruction (classical poses + learned depth) is composed in
    `learned_reconstruction` unless the learned package brings its own ``reconstruct``.
    """
    try:
        module = importlib.import_module(f"spatialclaw.primitives.backends.{name}")
    except ImportError:
        return None
    if name == "learned" and family == "reconstruction" and not callable(getattr(module, "reconstruct", None)):
        return importlib.import_module("spatialclaw.primitives.backends.learned.reconstruction")
    return module


def unavailable_reason(name: str, family: str, context: KernelContext) -> str | None:
    """Why backend ``name`` cannot serve ``family`` for this input; None when it can."""
    module = _module(name, family)
    if module is None or not callable(getattr(module, _ENTRY[family], None)):
        return f"the {name} backend has no {family} yet"
    check = getattr(module, "available", None)
    return check(family, context) if callable(check) else None


def parse_perception(perception: str) -> dict[str, str]:
    """``"auto"`` → every family auto; ``"reconstruction=gt,segmentation=auto"`` → per family.

    Raises:
        PerceptionError: an unknown backend or family name.
    """
    allowed = ("auto",) + BACKENDS
    spec = (perception or "auto").strip().lower()
    if "=" not in spec:
        if spec not in allowed:
            raise PerceptionError(f"unknown perception {perception!r}: use one of {', '.join(allowed)}")
        return dict.fromkeys(FAMILIES, spec)
    chosen = dict.fromkeys(FAMILIES, "auto")
    for part in filter(None, (p.strip() for p in spec.split(","))):
        family, _, value = part.partition("=")
        if family.strip() not in FAMILIES or value.strip() not in allowed:
            raise PerceptionError(
                f"bad perception setting {part!r}: write family=backend with family in {FAMILIES} and backend in {allowed}"
            )
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
                raise PerceptionError(f"--perception {want} cannot serve {family}: {reason}; use --perception auto")
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


def get(family: str, context: KernelContext) -> tuple[str, Any]:
    """The chosen backend's name and entry function for ``family`` (``reconstruct`` or ``segment``).

    Raises:
        PerceptionError: no backend can serve the family for this input.
    """
    if not context.backends:
        context.backends = {f: c["backend"] for f, c in choose(context).items()}
    name = context.backends.get(family, "none")
    module = _module(name, family) if name in BACKENDS else None
    func = getattr(module, _ENTRY[family], None) if module is not None else None
    if func is None:
        raise PerceptionError(
            f"no {family} backend can run on this input (perception={context.perception!r}); "
            "give an RGB-D folder for ground truth or install the classical/learned backends"
        )
    return name, func
