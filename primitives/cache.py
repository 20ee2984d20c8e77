"""Perception results on disk, so a second question about the same input costs nothing.

A result is stored as one ``.npz`` under ``<cache_dir>/perception/<family>/<key>.npz`` where the key hashes
the frames' pixels (and their source indices), the backend, and the parameters that change the
result (the query, the source folder for ground truth, backend options). Results are stored
*relative to the frames they were computed on* (``frame_ids`` 0..n-1); the primitives map them
back to positions in the kernel's ``frames``. Writes are atomic (temporary file, then rename), so
a killed kernel never leaves half a file behind. Within one kernel, results are also kept in
memory. Where the caller asks (``remember_failure``: a reconstruction, which fails for reasons
the key fully determines), a `PerceptionError` is stored like a result, so asking again raises
the same message at once instead of recomputing.

Trust: in a session the shared folder is read-only to the kernel and written only by the
perception service, outside the kernel (`spatialclaw.perception_service`); what the kernel
computes itself goes to its session *layer* (``context.cache_layer``) and is removed with the
session, never shared. On a miss, a ``remote`` callable (the service, through the host) may
name the shared entry that now holds the result. A corrupt entry is never fatal: in the layer
it is removed, in the shared folder it is skipped; either way the result is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from spatialclaw.atomic import write_npz
from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Masks, Object3D, Reconstruction, Track3D

CACHE_VERSION = 4
"""Part of every key: raised when stored results of the same inputs would now be wrong (3: a
Reconstruction carries its lens distortion; version-2 entries of distorted cameras would load as
pinhole ones, so they are recomputed rather than read; 4: the classical quality report gained the
depth gate and the search budget counts attempts, so stored reports would miss warnings)."""

def frames_digest(frames: list[Frame]) -> str:
    """A hex digest of the frames' source indices, sizes and pixels."""
    h = hashlib.blake2b(digest_size=16)
    for f in frames:
        h.update(f"{f.index}:{f.image.shape}".encode())
        h.update(np.ascontiguousarray(f.image).data)
    return h.hexdigest()


def make_key(family: str, backend: str, frames: list[Frame], params: dict[str, Any]) -> str:
    """The cache key of one perception result."""
    h = hashlib.blake2b(digest_size=20)
    meta = {"v": CACHE_VERSION, "family": family, "backend": backend, "params": params}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    h.update(frames_digest(frames).encode())
    return h.hexdigest()


def _reconstruction_arrays(r: Reconstruction) -> dict[str, np.ndarray]:
    arrays = {"depth": r.depth, "pose": r.pose, "K": r.K, "valid": r.valid, "backend": np.array(r.backend),
              "info": np.array(json.dumps(r.info, default=str)), "quality": np.array(r.quality.to_json())}
    if r.images is not None:
        arrays["images"] = r.images
    if r.distortion is not None:
        arrays["distortion"] = r.distortion
    return arrays


def _reconstruction_from(d: dict[str, np.ndarray]) -> Reconstruction:
    return Reconstruction(
        depth=d["depth"], pose=d["pose"], K=d["K"], images=d.get("images"), valid=d.get("valid"), distortion=d.get("distortion"),
        backend=str(d["backend"]), info=json.loads(str(d["info"])),
        quality=ReconstructionQuality.from_dict(json.loads(str(d["quality"]))),
    )


def _masks_arrays(m: Masks) -> dict[str, np.ndarray]:
    return {
        "shape": np.array(m.masks.shape, np.int64),
        "bits": np.packbits(m.masks.reshape(-1)),
        "boxes": m.boxes, "scores": m.scores, "labels": np.array(m.labels.tolist(), dtype=str),
        "frame_ids": m.frame_ids, "instance_ids": m.instance_ids,
    }


def _masks_from(d: dict[str, np.ndarray]) -> Masks:
    shape = tuple(int(v) for v in d["shape"])
    bits = np.unpackbits(d["bits"], count=int(np.prod(shape))).astype(bool).reshape(shape)
    return Masks(bits, d["boxes"], d["scores"], d["labels"].tolist(), d["frame_ids"], d["instance_ids"])


def _objects_arrays(objects: list[Object3D]) -> dict[str, np.ndarray]:
    return {
        "points": np.concatenate([o.points for o in objects]) if objects else np.zeros((0, 3)),
        "counts": np.array([len(o.points) for o in objects], np.int64),
        "centers": np.array([o.center for o in objects]).reshape(-1, 3),
        "sizes": np.array([o.size for o in objects]).reshape(-1, 3),
        "yaws": np.array([o.yaw for o in objects], np.float64),
        "frames": np.array([f for o in objects for f in o.frames], np.int64),
        "frame_counts": np.array([len(o.frames) for o in objects], np.int64),
        "labels": np.array([o.label for o in objects], dtype=str),
        "scores": np.array([o.score for o in objects], np.float64),
        "instance_ids": np.array([o.instance_id for o in objects], np.int64),
        "notes": np.array(json.dumps([o.notes for o in objects])),
    }


def _objects_from(d: dict[str, np.ndarray]) -> list[Object3D]:
    points = np.split(d["points"], np.cumsum(d["counts"])[:-1]) if len(d["counts"]) else []
    frames = np.split(d["frames"], np.cumsum(d["frame_counts"])[:-1]) if len(d["frame_counts"]) else []
    notes = json.loads(str(d["notes"])) if "notes" in d else [[] for _ in d["counts"]]
    return [
        Object3D(str(d["labels"][k]), points[k], d["centers"][k], d["sizes"][k], float(d["yaws"][k]),
                 frames[k].tolist(), float(d["scores"][k]), int(d["instance_ids"][k]), notes[k])
        for k in range(len(d["counts"]))
    ]


def _tracks_arrays(tracks: list[Track3D]) -> dict[str, np.ndarray]:
    def cat(name: str, width: int | None = None) -> np.ndarray:
        parts = [getattr(t, name) for t in tracks]
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, width) if width else 0)

    return {
        "counts": np.array([len(t) for t in tracks], np.int64),
        "frame_ids": cat("frame_ids").astype(np.int64),
        "times": cat("times"),
        "positions": cat("positions", 3),
        "weights": cat("weights"),
        "sizes": np.array([t.size for t in tracks]).reshape(-1, 3),
        "labels": np.array([t.label for t in tracks], dtype=str),
        "instance_ids": np.array([t.instance_id for t in tracks], np.int64),
        "warnings": np.array(json.dumps([t.warnings for t in tracks])),
    }


def _tracks_from(d: dict[str, np.ndarray]) -> list[Track3D]:
    cuts = np.cumsum(d["counts"])[:-1]
    split = {k: np.split(d[k], cuts) if len(d["counts"]) else [] for k in ("frame_ids", "times", "positions", "weights")}
    warnings = json.loads(str(d["warnings"]))
    return [
        Track3D(str(d["labels"][k]), split["frame_ids"][k], split["times"][k], split["positions"][k], d["sizes"][k],
                int(d["instance_ids"][k]), split["weights"][k], warnings[k])
        for k in range(len(d["counts"]))
    ]


_CODECS: dict[type, tuple[Callable[[Any], dict[str, np.ndarray]], Callable[[dict[str, np.ndarray]], Any]]] = {
    Reconstruction: (_reconstruction_arrays, _reconstruction_from),
    Masks: (_masks_arrays, _masks_from),
    Object3D: (_objects_arrays, _objects_from),
    Track3D: (_tracks_arrays, _tracks_from),
}


class PerceptionCache:
    """Load-or-compute for perception results, on disk under ``root`` and in memory.

    Args:
        root: the shared cache folder; None keeps results in memory only.
        layer: the session's own folder: new results are written there and read back first,
            and ``root`` is only read (None: results are written to ``root``).

    Results found or computed are also kept in ``memory`` for the cache's life: a kernel's cache
    lives as long as its `KernelContext` (`for_context`), a service makes one per request.
    ``hits`` and ``misses`` count lookups, so tests and benchmarks can see what was reused;
    ``served`` counts misses a ``remote`` answered; ``skipped`` lists shared entries that could
    not be read.
    """

    def __init__(self, root: Path | None, layer: Path | None = None) -> None:
        self.root = Path(root) if root is not None else None
        self.layer = Path(layer) if layer is not None and root is not None else None
        self.memory: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0
        self.served = 0
        self.skipped: list[Path] = []

    def path(self, family: str, key: str) -> Path | None:
        """Where a new result with this key is written (None without a root)."""
        folder = self.layer if self.layer is not None else self.root
        return None if folder is None else folder / family / f"{key}.npz"

    def _load(
        self, decode: Callable[[dict[str, np.ndarray]], Any], family: str, key: str, *, shared_only: bool = False
    ) -> tuple[bool, Any]:
        """(found, result) from the layer, then the shared folder; a bad entry is removed or skipped."""
        writable = None if shared_only else self.path(family, key)
        shared = None if self.root is None else self.root / family / f"{key}.npz"
        for path in dict.fromkeys(p for p in (writable, shared) if p is not None):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
                return True, (_Failure(str(arrays[_FAILURE])) if _FAILURE in arrays else decode(arrays))
            except Exception:  # a corrupt or foreign file: never fatal, recompute instead
                if path == writable:
                    path.unlink(missing_ok=True)
                else:
                    self.skipped.append(path)
        return False, None

    def get_or_compute(
        self, kind: type, family: str, key: str, compute: Callable[[], Any], *, remember_failure: bool = False,
        remote: Callable[[], str | None] | None = None,
    ) -> Any:
        """The cached ``kind`` result for ``key``, else ``remote``'s, else ``compute()`` stored under it.

        ``kind`` is `Reconstruction`, `Masks`, `Object3D` for a list of objects, or `Track3D` for
        a list of tracks. With
        ``remember_failure``, a `PerceptionError` from ``compute()`` is stored too and raised
        again (same message) by later calls. ``remote()``, called on a miss, returns the key of
        a shared entry that now holds the result (None: compute here).
        """
        encode, decode = _CODECS[kind]
        if key in self.memory:
            self.hits += 1
            return _result_or_raise(self.memory[key])
        found, result = self._load(decode, family, key)
        if found:
            self.hits += 1
            self.memory[key] = result
            return _result_or_raise(result)
        self.misses += 1
        shared_key = remote() if remote is not None else None
        if shared_key is not None and _KEY.match(shared_key):
            found, result = self._load(decode, family, shared_key, shared_only=True)
            if found:
                self.served += 1
                self.memory[key] = result
                return _result_or_raise(result)
        return self._compute(encode, family, key, compute, remember_failure)

    def _compute(
        self, encode: Callable[[Any], dict[str, np.ndarray]], family: str, key: str, compute: Callable[[], Any],
        remember_failure: bool,
    ) -> Any:
        """``compute()``, written under ``key`` where new results go (a failure too, if remembered)."""
        path = self.path(family, key)
        try:
            result = compute()
        except PerceptionError as err:
            if not remember_failure:
                raise
            self.memory[key] = _Failure(str(err))
            if path is not None:
                try:
                    write_npz(path, {_FAILURE: np.array(str(err))})
                except OSError:
                    pass
            raise
        if path is not None:
            try:
                write_npz(path, encode(result))
            except OSError:  # a full or read-only cache keeps the result in memory only
                pass
        self.memory[key] = result
        return result


_FAILURE = "perception_error"
_KEY = re.compile(r"^[0-9a-f]{16,64}$")


@dataclass(frozen=True)
class _Failure:
    """A cached `PerceptionError`: its message."""

    message: str


def _result_or_raise(value: Any) -> Any:
    if isinstance(value, _Failure):
        raise PerceptionError(value.message)
    return value



def forget(context: Any) -> None:
    """Forget the context's in-memory results (the files on disk stay), as a new kernel would start."""
    for store in context.loaded.get("cache", {}).values():
        store.memory.clear()


def for_context(context: Any) -> PerceptionCache:
    """The cache of a kernel context: ``<context.cache_dir>/perception``, else ``$SPATIALCLAW_CACHE/perception``,
    made once per context and kept in ``context.loaded["cache"]`` (its in-memory results with it).

    ``context.options["cache"] = False`` keeps results in memory only.
    """
    if context.options.get("cache", True) is False:
        root = None
    elif context.cache_dir is not None:
        root = Path(context.cache_dir) / "perception"
    else:
        from spatialclaw.config import cache_dir

        root = cache_dir() / "perception"
    layer = getattr(context, "cache_layer", None)
    name = f"{root}|{layer}"
    stores = context.loaded.setdefault("cache", {})
    if name not in stores:
        stores[name] = PerceptionCache(root, layer)
    return stores[name]
