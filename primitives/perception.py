"""Running a perception backend for a primitive: frame selection, the cache, frame numbering.

The primitives `reconstruct` and `segment` call `run_reconstruction` / `run_segmentation` with
their kernel's context; these resolve the ``frames`` argument, ask the chosen backend
(`backends.get`) unless the cache has the result, and map the backend's frame numbering (0..n-1
over the frames it was given) to positions in the kernel's ``frames``. Cached arrays are
read-only so one cell cannot corrupt another's.

A reconstruction is quiet and fails in one line: native libraries' console output is dropped
while a backend runs (`quiet`), an unexpected exception in a backend becomes a `PerceptionError`
naming the backend, a failure is cached like a result (asking again raises the same message at
once), and the first cell that uses a reconstruction prints its quality warnings once, so the
model sees them even if it never prints the result.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends, cache, remote
from spatialclaw.primitives.quiet import native_output_silenced
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.types import Masks, Object3D, Reconstruction, Track3D


def _params(context: KernelContext, backend: str) -> dict[str, Any]:
    params: dict[str, Any] = {"options": {k: v for k, v in sorted(context.options.items()) if k != "cache"}}
    if backend == "gt":
        params["source"] = str(context.source_path)
        params["context_frames"] = [f.index for f in context.frames]
    return params


def _checkpoints(backend: backends.PerceptionBackend, family: str, context: KernelContext) -> dict[str, str]:
    """The checkpoints ``backend`` uses for ``family`` here (part of the cache key), noted in the context.

    ``context.loaded["served"][family]`` then says which checkpoint served each family, whether
    the result was computed now or read from the cache.
    """
    used = backend.checkpoints(family, context)
    if used:
        context.loaded.setdefault("served", {})[family] = dict(used)
    return used


def _freeze(*arrays: np.ndarray | None) -> None:
    for a in arrays:
        if a is not None:
            a.flags.writeable = False


def _selected(frames: Sequence[Frame | int] | None, context: KernelContext) -> tuple[list[int], list[Frame]]:
    positions, selected = context.select_frames(frames)
    if not selected:
        raise ValueError("no frames to work on: this kernel has no input frames")
    return positions, selected


def _run_backend(name: str, func: Callable[..., Reconstruction], frames: list[Frame], context: KernelContext) -> Reconstruction:
    """``func(frames, context)`` with native output silenced; any unexpected error becomes a `PerceptionError`."""
    try:
        with native_output_silenced():
            return func(frames, context)
    except PerceptionError:
        raise
    except Exception as err:  # noqa: BLE001 (a backend bug must not reach the cell as a traceback)
        raise PerceptionError.backend_failed(name, err) from None


def _announce(result: Reconstruction, key: str, context: KernelContext) -> None:
    """Print the reconstruction's warnings once per kernel (in the first cell that uses it)."""
    if key in context.announced or not result.quality.warnings:
        return
    context.announced.add(key)
    lines = [f"reconstruction ({result.backend}) warnings, see r.quality:"] + [f"- {w}" for w in result.quality.warnings]
    print("\n".join(lines))


@dataclasses.dataclass(frozen=True)
class PerceptionJob:
    """One perception result to get for some frames: where it is cached and how it is computed.

    The kernel's primitives and the perception service build jobs alike, so both find a result
    under the same key.

    Attributes:
        family: ``"reconstruction"``, ``"segmentation"`` or ``"tracking"``.
        backend: the backend's name.
        key: the cache key (frames' pixels, backend, parameters, checkpoints).
        kind: the result's type (`Reconstruction` or `Masks`).
        compute: runs the backend (the frames and context are bound).
        remember_failure: a `PerceptionError` is cached like a result (reconstructions).
    """

    family: str
    backend: str
    key: str
    kind: type
    compute: Callable[[], Any]
    remember_failure: bool = False


def reconstruction_job(selected: list[Frame], context: KernelContext) -> PerceptionJob:
    """The job of reconstructing ``selected`` (frames of ``context``) with the chosen backend."""
    backend = backends.get("reconstruction", context)
    params = {**_params(context, backend.name), "checkpoints": _checkpoints(backend, "reconstruction", context)}
    key = cache.make_key("reconstruction", backend.name, selected, params)

    def compute() -> Reconstruction:
        r = _run_backend(backend.name, backend.reconstruct, selected, context)
        _freeze(r.depth, r.pose, r.K, r.images, r.valid, r.distortion)
        return r

    return PerceptionJob("reconstruction", backend.name, key, Reconstruction, compute, remember_failure=True)


def masks_job(family: str, query: str, selected: list[Frame], context: KernelContext) -> PerceptionJob:
    """The job of masks of ``family`` (``"segmentation"`` or ``"tracking"``) for ``query`` on
    ``selected``, keyed by frames, backend, query and checkpoints."""
    backend = backends.get(family, context)
    params = {**_params(context, backend.name), "query": query.strip().lower(),
              "checkpoints": _checkpoints(backend, family, context)}
    key = cache.make_key(family, backend.name, selected, params)
    run = backend.segment if family == "segmentation" else backend.track
    return PerceptionJob(family, backend.name, key, Masks, lambda: run(query, selected, context))


def _get(job: PerceptionJob, positions: list[int], query: str | None, context: KernelContext) -> Any:
    """The job's result: from the cache, else from the host's perception service, else computed here."""
    service = remote.service_call(context, job.family, job.backend, positions, query)
    return cache.for_context(context).get_or_compute(
        job.kind, job.family, job.key, job.compute, remember_failure=job.remember_failure, remote=service
    )


def run_reconstruction(frames: Sequence[Frame | int] | None, context: KernelContext) -> Reconstruction:
    """The chosen backend's Reconstruction of ``frames`` (all when None) of ``context``, cached (failures too).

    Raises:
        PerceptionError: the backend cannot reconstruct these frames (one line saying what to try).
    """
    positions, selected = _selected(frames, context)
    job = reconstruction_job(selected, context)
    result = _get(job, positions, None, context)
    _freeze(result.depth, result.pose, result.K, result.images, result.valid, result.distortion)
    _announce(result, job.key, context)
    return dataclasses.replace(result, frame_ids=np.asarray(positions, np.int64), info=dict(result.info))


def run_segmentation(query: str, frames: Sequence[Frame | int] | None, context: KernelContext) -> Masks:
    """The chosen backend's Masks for ``query`` on ``frames`` (all when None) of ``context``, cached."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("segment() needs a non-empty text query such as 'chair' or 'chairs, tables'")
    return _run_masks("segmentation", query, frames, context)


def run_tracking(query: str, frames: Sequence[Frame | int] | None, context: KernelContext) -> Masks:
    """The chosen backend's tracked Masks for ``query`` on ``frames`` (all when None) of ``context``, cached.

    ``instance_ids`` are identities across the frames (one id per followed object); the frames
    are taken in time order as given.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("tracking needs a non-empty text query such as 'chair' or 'chairs, tables'")
    return _run_masks("tracking", query, frames, context)


def _run_masks(family: str, query: str, frames: Sequence[Frame | int] | None, context: KernelContext) -> Masks:
    """Masks of ``family`` (``"segmentation"`` or ``"tracking"``) from the chosen backend, cached,
    with frame ids as positions in the kernel's frames."""
    positions, selected = _selected(frames, context)
    result = _get(masks_job(family, query, selected, context), positions, query, context)
    _freeze(result.masks)
    ids = np.asarray(positions, np.int64)[result.frame_ids] if len(result) else result.frame_ids
    return dataclasses.replace(result, frame_ids=ids)


def _fuses_tracks(context: KernelContext) -> bool:
    """Whether objects come from tracked masks: the backend's ids are a tracker's and it can track here."""
    backend = backends.get("segmentation", context)
    return backend.identities == "tracked" and backend.available("tracking", context) is None


def object_masks(query: str, positions: list[int], context: KernelContext) -> tuple[Masks, bool]:
    """The masks `objects3d` fuses for ``query`` on frames ``positions``, and whether they are tracked."""
    if _fuses_tracks(context):
        return run_tracking(query, positions, context), True
    return run_segmentation(query, positions, context), False


def run_objects(query: str, fuse: Callable[..., list[Object3D]], params: dict[str, Any], context: KernelContext) -> list[Object3D]:
    """``fuse(masks, reconstruct())`` over all frames of ``context``, cached like the perception results.

    The masks are `object_masks`: the tracked ones (``fuse(..., tracked=True)``) where the
    segmentation backend tracks (learned: SAM 3 video), else ``segment(query)``'s.

    Args:
        query: the objects to find.
        fuse: turns masks and a reconstruction into objects.
        params: what else the result depends on (the fusion's settings and version).
        context: the kernel's.
    """
    positions, selected = _selected(None, context)
    recon = run_reconstruction(None, context)  # first, so its warnings show even when the objects are cached
    rec, seg = backends.get("reconstruction", context), backends.get("segmentation", context)
    rec_name, seg_name = rec.name, seg.name
    tracked = _fuses_tracks(context)
    masks_family = "tracking" if tracked else "segmentation"
    checkpoints = {"reconstruction": _checkpoints(rec, "reconstruction", context),
                   masks_family: _checkpoints(backends.get(masks_family, context), masks_family, context)}
    key_params = {**_params(context, rec_name), **_params(context, seg_name), **params, "query": query.strip().lower(),
                  "tracked": tracked, "checkpoints": checkpoints}
    key = cache.make_key("objects", f"{rec_name}+{seg_name}", selected, key_params)

    def compute() -> list[Object3D]:
        masks, from_tracks = object_masks(query, positions, context)
        objects = fuse(masks, recon, tracked=from_tracks)
        _freeze(*(o.points for o in objects))
        return objects

    objects = cache.for_context(context).get_or_compute(Object3D, "objects", key, compute)
    _freeze(*(o.points for o in objects))
    return [dataclasses.replace(o) for o in objects]


def run_tracks(
    query: str, follow: Callable[[Masks, Reconstruction], list[Track3D]], params: dict[str, Any], context: KernelContext
) -> list[Track3D]:
    """``follow(tracked masks of query, reconstruct())`` over all frames of ``context``, cached like `run_objects`.

    Args:
        query: the objects to follow.
        follow: turns tracked masks and a reconstruction into tracks.
        params: what else the result depends on (the fitting's settings and version).
        context: the kernel's.
    """
    positions, selected = _selected(None, context)
    rec_name = backends.get("reconstruction", context).name
    seg_name = backends.get("tracking", context).name
    key_params = {**_params(context, rec_name), **_params(context, seg_name), **params, "query": query.strip().lower()}
    key = cache.make_key("tracks", f"{rec_name}+{seg_name}", selected, key_params)

    def compute() -> list[Track3D]:
        return follow(run_tracking(query, positions, context), run_reconstruction(None, context))

    tracks = cache.for_context(context).get_or_compute(Track3D, "tracks", key, compute)
    for t in tracks:
        _freeze(t.frame_ids, t.times, t.positions, t.weights)
    return [dataclasses.replace(t, warnings=list(t.warnings)) for t in tracks]
