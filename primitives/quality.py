"""`ReconstructionQuality`: how far a `Reconstruction` can be trusted, travelling with it.

Every backend fills one in. Ground truth is exact (``ok``, no warnings). Structure-from-motion
backends report what they measured (frames registered, reprojection error, focal length, camera
path, where the metric scale came from) and what their checks found wrong, as plain sentences
that say what is still usable (`primitives.backends.classical.gates`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCALE_SOURCES = ("gt", "metric-depth", "floor+camera-height", "unknown")
"""Where the metres come from: ground truth, a metric depth model, the floor plane plus an
assumed camera height, or nowhere (then only ratios of lengths are meaningful)."""


def _optional_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"ReconstructionQuality.{name} must be a number or None, got {value!r}") from None
    if not math.isfinite(out):
        return None
    return out


@dataclass(eq=False)
class ReconstructionQuality:
    """How far a reconstruction can be trusted.

    Attributes:
        registered: frames whose camera pose was measured (not interpolated).
        total: frames in the reconstruction.
        scale_source: ``"gt"``, ``"metric-depth"``, ``"floor+camera-height"`` or ``"unknown"``.
        warnings: plain sentences: what is wrong, and what can still be trusted.
        reprojection_px: median reprojection error of the sparse 3D points (pixels); None when
            the poses were not estimated (ground truth).
        points: sparse 3D points of the structure-from-motion model (None: not applicable).
        focal_px: estimated focal length at the frames' resolution (pixels).
        fov_deg: horizontal field of view from ``focal_px`` (degrees).
        path_m: length of the camera path over the valid frames (metres; reconstruction units
            when ``scale_source`` is ``"unknown"``).
        floor_confidence: how sure the floor fit is, in [0, 1] (None: not fitted).
        ok: True exactly when there are no warnings.
    """

    registered: int
    total: int
    scale_source: str
    warnings: list[str] = field(default_factory=list)
    reprojection_px: float | None = None
    points: int | None = None
    focal_px: float | None = None
    fov_deg: float | None = None
    path_m: float | None = None
    floor_confidence: float | None = None
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        self.registered, self.total = int(self.registered), int(self.total)
        if not 0 <= self.registered <= self.total:
            raise ValueError(f"ReconstructionQuality: registered must be in 0..total, got {self.registered} of {self.total}")
        if self.scale_source not in SCALE_SOURCES:
            raise ValueError(f"ReconstructionQuality.scale_source must be one of {SCALE_SOURCES}, got {self.scale_source!r}")
        if isinstance(self.warnings, str) or not all(isinstance(w, str) and w for w in self.warnings):
            raise ValueError("ReconstructionQuality.warnings must be a list of non-empty sentences")
        self.warnings = list(self.warnings)
        for name in ("reprojection_px", "focal_px", "fov_deg", "path_m", "floor_confidence"):
            setattr(self, name, _optional_float(getattr(self, name), name))
        self.points = None if self.points is None else int(self.points)
        self.ok = not self.warnings

    @classmethod
    def exact(cls, total: int) -> ReconstructionQuality:
        """The quality of ground truth: every frame valid, metric, no warnings."""
        return cls(registered=total, total=total, scale_source="gt")

    def summary(self) -> str:
        """One line: ``ok`` or how many warnings, then the numbers that matter."""
        parts = ["ok" if self.ok else f"NOT ok ({len(self.warnings)} warning{'s' * (len(self.warnings) != 1)})"]
        parts.append(f"{self.registered}/{self.total} frames registered")
        if self.reprojection_px is not None:
            parts.append(f"reprojection {self.reprojection_px:.2f} px")
        parts.append(f"scale: {self.scale_source}")
        if self.fov_deg is not None:
            parts.append(f"field of view {self.fov_deg:.0f}°")
        if self.path_m is not None:
            unit = "units" if self.scale_source == "unknown" else "m"
            parts.append(f"camera path {self.path_m:.2f} {unit}")
        return "quality: " + ", ".join(parts)

    def __repr__(self) -> str:
        text = self.summary()
        if self.warnings:
            text += "\nwarnings: " + " | ".join(self.warnings)
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``ok`` included)."""
        return {
            "registered": self.registered, "total": self.total, "scale_source": self.scale_source,
            "warnings": list(self.warnings), "reprojection_px": self.reprojection_px,
            "points": self.points, "focal_px": self.focal_px,
            "fov_deg": self.fov_deg, "path_m": self.path_m, "floor_confidence": self.floor_confidence, "ok": self.ok,
        }

    def to_json(self) -> str:
        """`to_dict` as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReconstructionQuality:
        """The inverse of `to_dict` (``ok`` is recomputed from the warnings)."""
        return cls(**{k: v for k, v in d.items() if k != "ok"})


def horizontal_fov_deg(focal_px: float, width: int) -> float:
    """Horizontal field of view (degrees) of a pinhole camera ``width`` pixels wide.

    >>> round(horizontal_fov_deg(320.0, 640), 1)
    90.0
    """
    return float(np.degrees(2.0 * np.arctan2(width / 2.0, focal_px)))
