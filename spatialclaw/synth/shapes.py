"""Furniture-like objects built from boxes, cylinders and spheres.

Each object is a list of :class:`Part` in the object's *local frame*: metres, origin at the
centre of its footprint on the floor, +z up, the object's front facing local +y (its back at
-y, which is what goes against a wall). :func:`build_parts` makes the parts of one label with
random proportions; the scene places them (yaw about z, then a translation on the floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

if TYPE_CHECKING:
    import open3d as o3d

PartKind = Literal["box", "cylinder", "sphere"]


@dataclass(frozen=True)
class Part:
    """One solid of an object, in the object's local frame.

    Attributes:
        kind: ``box`` (extents ``size``), ``cylinder`` (vertical axis, diameter ``size[0]``,
            height ``size[2]``) or ``sphere`` (diameter ``size[0]``).
        center: (3,) centre of the solid's bounding box, metres, local frame.
        size: (3,) extents of the solid's bounding box along local x, y, z, metres.
        shade: multiplier of the object's base colour (1 = the base colour).
        color: (3,) RGB in [0, 1] that replaces the base colour (e.g. a plant's green leaves), or None.
    """

    kind: PartKind
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    shade: float = 1.0
    color: tuple[float, float, float] | None = None

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) corners of the part's local bounding box, each (3,) metres."""
        c = np.asarray(self.center, dtype=np.float64)
        h = np.asarray(self.size, dtype=np.float64) / 2.0
        return c - h, c + h

    def mesh(self) -> "o3d.geometry.TriangleMesh":
        """The part as a legacy open3d triangle mesh in the object's local frame."""
        import open3d as o3d

        sx, sy, sz = self.size
        if self.kind == "box":
            m = o3d.geometry.TriangleMesh.create_box(sx, sy, sz)
            m.translate(np.asarray(self.center) - np.array([sx, sy, sz]) / 2.0)
        elif self.kind == "cylinder":
            m = o3d.geometry.TriangleMesh.create_cylinder(radius=sx / 2.0, height=sz, resolution=24, split=1)
            m.translate(np.asarray(self.center))
        else:
            m = o3d.geometry.TriangleMesh.create_sphere(radius=sx / 2.0, resolution=12)
            m.translate(np.asarray(self.center))
        return m


def _box(cx: float, cy: float, cz: float, sx: float, sy: float, sz: float, shade: float = 1.0, color=None) -> Part:
    return Part("box", (cx, cy, cz), (sx, sy, sz), shade, color)


def _legs(w: float, d: float, height: float, side: float, inset: float, shade: float = 0.8) -> list[Part]:
    """Four square legs under a ``w`` × ``d`` top, standing on the floor."""
    xs = w / 2 - inset - side / 2
    ys = d / 2 - inset - side / 2
    return [_box(sx * xs, sy * ys, height / 2, side, side, height, shade) for sx in (-1, 1) for sy in (-1, 1)]


def _sofa(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(1.6, 2.2), rng.uniform(0.8, 0.95), rng.uniform(0.75, 0.9)
    arm, seat, back = 0.18, 0.42, 0.2
    inner = w - 2 * arm
    parts = [
        _box(0, back / 2, seat / 2, inner, d - back, seat),
        _box(0, -d / 2 + back / 2, h / 2, inner, back, h, 0.9),
    ]
    parts += [_box(s * (w / 2 - arm / 2), 0, 0.3, arm, d, 0.6, 0.85) for s in (-1, 1)]
    return parts


def _bed(rng: np.random.Generator) -> list[Part]:
    w, d, head = rng.uniform(1.4, 1.8), rng.uniform(1.95, 2.1), rng.uniform(0.9, 1.1)
    white = (0.86, 0.86, 0.82)
    parts = [
        _box(0, 0.04, 0.15, w, d - 0.08, 0.3, 0.8),
        _box(0, 0.06, 0.41, w - 0.06, d - 0.16, 0.22, 1.0, white),
        _box(0, -d / 2 + 0.04, head / 2, w, 0.08, head, 0.7),
    ]
    parts += [_box(s * w / 4, -d / 2 + 0.35, 0.58, min(0.55, w / 2 - 0.1), 0.35, 0.12, 0.9, white) for s in (-1, 1)]
    return parts


def _table(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.7, 0.9), rng.uniform(0.72, 0.78)
    return [_box(0, 0, h - 0.02, w, d, 0.04)] + _legs(w, d, h - 0.04, 0.06, 0.05)


def _chair(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(0.42, 0.5), rng.uniform(0.45, 0.52), rng.uniform(0.82, 0.95)
    seat = 0.45
    return [
        _box(0, 0, seat - 0.025, w, d, 0.05),
        _box(0, -d / 2 + 0.02, (seat + h) / 2, w, 0.04, h - seat, 0.9),
    ] + _legs(w, d, seat - 0.05, 0.04, 0.02)


def _tv(rng: np.random.Generator) -> list[Part]:
    w = rng.uniform(0.9, 1.3)
    screen_h, neck = w * 0.58, rng.uniform(0.5, 0.7)
    black = (0.07, 0.07, 0.08)
    return [
        _box(0, 0, 0.015, 0.45, 0.32, 0.03, 1.0),
        _box(0, 0, neck / 2 + 0.015, 0.07, 0.07, neck - 0.03, 1.0),
        _box(0, 0, neck + screen_h / 2, w, 0.06, screen_h, 1.0),
        _box(0, 0.031, neck + screen_h / 2, w - 0.04, 0.002, screen_h - 0.04, 1.0, black),
    ]


def _cabinet(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.4, 0.55), rng.uniform(0.8, 1.2)
    return [
        _box(0, 0, (h - 0.03) / 2, w - 0.02, d - 0.02, h - 0.03),
        _box(0, 0, h - 0.015, w, d, 0.03, 0.75),
        _box(-0.06, d / 2 - 0.005, h * 0.6, 0.02, 0.01, 0.14, 0.4),
        _box(0.06, d / 2 - 0.005, h * 0.6, 0.02, 0.01, 0.14, 0.4),
    ]


def _bookshelf(rng: np.random.Generator) -> list[Part]:
    w, d, h = rng.uniform(0.8, 1.2), rng.uniform(0.3, 0.38), rng.uniform(1.6, 2.0)
    n = int(rng.integers(4, 6))
    t = 0.025
    parts = [_box(s * (w / 2 - t / 2), 0, h / 2, t, d, h) for s in (-1, 1)]
    parts.append(_box(0, -d / 2 + 0.01, h / 2, w - 2 * t, 0.02, h, 0.8))
    levels = np.linspace(0.05, h - t / 2, n + 1)
    parts += [_box(0, 0.005, z, w - 2 * t, d - 0.03, t, 0.9) for z in levels]
    for z0, z1 in zip(levels[:-1], levels[1:]):
        x = -w / 2 + t + 0.02
        while True:
            bw = rng.uniform(0.03, 0.07)
            if x + bw > w / 2 - t - 0.02:
                break
            bh = min(rng.uniform(0.18, 0.28), z1 - z0 - t - 0.02)
            colour = tuple(float(c) for c in rng.uniform(0.15, 0.85, 3))
            parts.append(_box(x + bw / 2, 0.0, z0 + t / 2 + bh / 2, bw, d - 0.08, bh, 1.0, colour))
            x += bw + rng.uniform(0.0, 0.03)
    return parts


def _lamp(rng: np.random.Generator) -> list[Part]:
    h, r = rng.uniform(1.4, 1.7), rng.uniform(0.18, 0.22)
    shade_colour = (0.93, 0.88, 0.72)
    return [
        Part("cylinder", (0, 0, 0.015), (0.32, 0.32, 0.03)),
        Part("cylinder", (0, 0, (h - 0.3) / 2 + 0.015), (0.03, 0.03, h - 0.33)),
        Part("cylinder", (0, 0, h - 0.15), (2 * r, 2 * r, 0.3), 1.0, shade_colour),
    ]


def _plant(rng: np.random.Generator) -> list[Part]:
    r, ph, fr = rng.uniform(0.14, 0.2), rng.uniform(0.28, 0.4), rng.uniform(0.22, 0.35)
    green = tuple(float(c) for c in (rng.uniform(0.1, 0.25), rng.uniform(0.4, 0.6), rng.uniform(0.1, 0.2)))
    return [
        Part("cylinder", (0, 0, ph / 2), (2 * r, 2 * r, ph)),
        Part("sphere", (0, 0, ph + fr * 0.85), (2 * fr, 2 * fr, 2 * fr), 1.0, green),
    ]


def _trash_can(rng: np.random.Generator) -> list[Part]:
    r, h = rng.uniform(0.13, 0.18), rng.uniform(0.35, 0.5)
    return [Part("cylinder", (0, 0, h / 2), (2 * r, 2 * r, h))]


BUILDERS: dict[str, Callable[[np.random.Generator], list[Part]]] = {
    "sofa": _sofa,
    "bed": _bed,
    "table": _table,
    "chair": _chair,
    "tv": _tv,
    "cabinet": _cabinet,
    "bookshelf": _bookshelf,
    "lamp": _lamp,
    "plant": _plant,
    "trash can": _trash_can,
}
"""Every label a synthetic scene can hold, with the function that builds its parts."""

WALL_LABELS = frozenset({"sofa", "bed", "tv", "cabinet", "bookshelf"})
"""Labels placed with their back against a wall; the others stand anywhere."""

BASE_COLORS: dict[str, tuple[float, float, float]] = {
    "sofa": (0.30, 0.38, 0.62),
    "bed": (0.55, 0.36, 0.22),
    "table": (0.62, 0.45, 0.28),
    "chair": (0.72, 0.30, 0.22),
    "tv": (0.22, 0.22, 0.25),
    "cabinet": (0.80, 0.72, 0.55),
    "bookshelf": (0.48, 0.32, 0.20),
    "lamp": (0.35, 0.33, 0.30),
    "plant": (0.72, 0.40, 0.25),
    "trash can": (0.40, 0.55, 0.50),
}
"""Base RGB in [0, 1] of each label, jittered per instance."""


def build_parts(label: str, rng: np.random.Generator) -> list[Part]:
    """The parts of one object of ``label`` with random proportions drawn from ``rng``.

    Raises:
        KeyError: ``label`` is not one of :data:`BUILDERS`.
    """
    return BUILDERS[label](rng)


def local_bounds(parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) corners, each (3,) metres, of the union of the parts' local boxes."""
    lo = np.min([p.bounds()[0] for p in parts], axis=0)
    hi = np.max([p.bounds()[1] for p in parts], axis=0)
    return lo, hi
