"""The held-out renderer's rooms: boxes and cylinders with materials, a light, all random by seed.

A room is a floor slab (its top at z = 0: the world is metric, +z up), a ceiling slab and four
wall slabs around a rectangle, with furniture standing on the floor (cabinets, tables on legs,
beds, round stools and bins, a rug) and posters hung on the walls. Every piece is one `Solid`:
a box or an upright cylinder in its own local frame, which is also where its texture
coordinates come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spatialclaw.testing.heldout.textures import Material, random_material


@dataclass(frozen=True)
class Solid:
    """A box (``size`` = full extents) or an upright cylinder (``size`` = diameter, diameter,
    height) centred at ``centre`` (metres), turned by ``yaw`` (radians) about +z."""

    name: str
    kind: str
    centre: np.ndarray
    size: np.ndarray
    yaw: float
    material: Material

    @property
    def rotation(self) -> np.ndarray:
        """3×3 local-to-world rotation."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def footprint_radius(self) -> float:
        """Radius (metres) of a vertical cylinder that holds the solid's footprint."""
        return float(0.5 * np.hypot(self.size[0], self.size[1]))


@dataclass
class Room:
    """A random room.

    Attributes:
        size: (3,) inner width (x), depth (y) and height (z) in metres; the room spans
            [0, size[0]] × [0, size[1]] × [0, size[2]].
        solids: every surface of the room, walls first.
        light: (3,) position of the point light (metres).
        light_power: its strength (irradiance 1 at 1 m, before exposure).
        ambient: light that reaches everything, in the same units.
    """

    size: np.ndarray
    solids: list[Solid] = field(default_factory=list)
    light: np.ndarray = field(default_factory=lambda: np.zeros(3))
    light_power: float = 4.0
    ambient: float = 0.25

    def furniture(self) -> list[Solid]:
        """The solids that stand in the room (not walls, floor, ceiling or posters)."""
        return [s for s in self.solids if not s.name.startswith(("wall", "floor", "ceiling", "poster", "rug"))]


WALL = 0.2
"""Thickness of the wall, floor and ceiling slabs (metres)."""


def _shell(rng: np.random.Generator, size: np.ndarray) -> list[Solid]:
    """Floor, ceiling and the four walls as slabs just outside the room."""
    w, d, h = size
    floor_mat = random_material(rng, str(rng.choice(["wood", "tiles", "fabric"])))
    wall_mats = [random_material(rng, str(rng.choice(["plaster", "bricks", "plaster", "wood"]))) for _ in range(2)]
    ceiling = random_material(rng, "plaster")
    big = np.array([w + 2 * WALL, d + 2 * WALL])
    return [
        Solid("floor", "box", np.array([w / 2, d / 2, -WALL / 2]), np.array([*big, WALL]), 0.0, floor_mat),
        Solid("ceiling", "box", np.array([w / 2, d / 2, h + WALL / 2]), np.array([*big, WALL]), 0.0, ceiling),
        Solid("wall-south", "box", np.array([w / 2, -WALL / 2, h / 2]), np.array([big[0], WALL, h]), 0.0, wall_mats[0]),
        Solid("wall-north", "box", np.array([w / 2, d + WALL / 2, h / 2]), np.array([big[0], WALL, h]), 0.0, wall_mats[0]),
        Solid("wall-west", "box", np.array([-WALL / 2, d / 2, h / 2]), np.array([WALL, big[1], h]), 0.0, wall_mats[1]),
        Solid("wall-east", "box", np.array([w + WALL / 2, d / 2, h / 2]), np.array([WALL, big[1], h]), 0.0, wall_mats[1]),
    ]


FURNITURE = {  # name: (kind, width range, depth range, height range, patterns)
    "cabinet": ("box", (0.5, 1.2), (0.35, 0.6), (0.8, 1.9), ("wood", "plaster")),
    "bed": ("box", (1.4, 1.8), (1.9, 2.1), (0.45, 0.6), ("fabric",)),
    "sofa": ("box", (1.6, 2.2), (0.8, 0.95), (0.7, 0.85), ("fabric",)),
    "crate": ("box", (0.35, 0.6), (0.35, 0.6), (0.3, 0.6), ("wood", "bricks", "tiles")),
    "stool": ("cylinder", (0.3, 0.45), (0.0, 0.0), (0.4, 0.7), ("wood", "fabric")),
    "bin": ("cylinder", (0.25, 0.4), (0.0, 0.0), (0.3, 0.6), ("plaster", "tiles")),
    "table": ("table", (0.8, 1.6), (0.6, 0.9), (0.7, 0.78), ("wood",)),
}


def _free(centre: np.ndarray, radius: float, placed: list[tuple[np.ndarray, float]], size: np.ndarray) -> bool:
    inside = radius <= centre[0] <= size[0] - radius and radius <= centre[1] <= size[1] - radius
    return inside and all(np.linalg.norm(centre - c) > radius + r + 0.15 for c, r in placed)


def _table(name: str, centre: np.ndarray, size: np.ndarray, yaw: float, material: Material) -> list[Solid]:
    """A table top and four legs, all boxes turned by ``yaw``."""
    top = Solid(name, "box", np.array([centre[0], centre[1], size[2] - 0.02]), np.array([size[0], size[1], 0.04]), yaw, material)
    c, s = np.cos(yaw), np.sin(yaw)
    legs = []
    for k, (sx, sy) in enumerate([(-1, -1), (1, -1), (-1, 1), (1, 1)]):
        local = np.array([sx * (size[0] / 2 - 0.05), sy * (size[1] / 2 - 0.05)])
        xy = centre[:2] + np.array([c * local[0] - s * local[1], s * local[0] + c * local[1]])
        legs.append(Solid(f"{name}-leg{k}", "box", np.array([*xy, (size[2] - 0.04) / 2]), np.array([0.05, 0.05, size[2] - 0.04]), yaw, material))
    return [top, *legs]


def _furnish(rng: np.random.Generator, size: np.ndarray) -> list[Solid]:
    """Four to eight pieces of furniture on the floor, not overlapping, some against a wall."""
    placed: list[tuple[np.ndarray, float]] = []
    solids: list[Solid] = []
    for k in range(int(rng.integers(4, 9))):
        name = str(rng.choice(list(FURNITURE)))
        kind, wr, dr, hr, patterns = FURNITURE[name]
        dims = np.array([rng.uniform(*wr), rng.uniform(*dr) if kind != "cylinder" else 0.0, rng.uniform(*hr)])
        if kind == "cylinder":
            dims[1] = dims[0]
        radius = 0.5 * float(np.hypot(dims[0], dims[1]))
        for _ in range(40):
            xy = rng.uniform([0, 0], size[:2])
            if _free(xy, radius, placed, size):
                break
        else:
            continue
        placed.append((xy, radius))
        yaw, material = float(rng.uniform(-np.pi, np.pi)), random_material(rng, str(rng.choice(patterns)))
        label = f"{name}-{k}"
        if kind == "table":
            solids += _table(label, xy, dims, yaw, material)
        else:
            solids.append(Solid(label, kind, np.array([xy[0], xy[1], dims[2] / 2]), dims, yaw, material))
    return solids


def _decorate(rng: np.random.Generator, size: np.ndarray) -> list[Solid]:
    """Posters flat on the walls (2 cm proud of them) and maybe a rug on the floor."""
    out = []
    for k in range(int(rng.integers(2, 6))):
        wall = int(rng.integers(4))
        w, h = rng.uniform(0.4, 1.2), rng.uniform(0.3, 0.9)
        z = rng.uniform(0.9, size[2] - 0.3 - h / 2)
        along = rng.uniform(w / 2 + 0.1, (size[0] if wall < 2 else size[1]) - w / 2 - 0.1)
        if wall < 2:
            centre, dims = np.array([along, 0.01 if wall == 0 else size[1] - 0.01, z]), np.array([w, 0.02, h])
        else:
            centre, dims = np.array([0.01 if wall == 2 else size[0] - 0.01, along, z]), np.array([0.02, w, h])
        out.append(Solid(f"poster-{k}", "box", centre, dims, 0.0, random_material(rng, "poster")))
    if rng.random() < 0.6:
        dims = np.array([rng.uniform(1.2, 2.2), rng.uniform(0.8, 1.6), 0.01])
        centre = np.array([*rng.uniform(dims[:2] / 2 + 0.3, size[:2] - dims[:2] / 2 - 0.3), 0.005])
        out.append(Solid("rug", "box", centre, dims, float(rng.uniform(-0.5, 0.5)), random_material(rng, str(rng.choice(["fabric", "tiles"])))))
    return out


def generate_room(seed: int) -> Room:
    """A random room, the same for the same ``seed``."""
    rng = np.random.default_rng([seed, 0x4E1D])
    size = np.array([rng.uniform(3.5, 7.0), rng.uniform(3.5, 7.0), rng.uniform(2.4, 3.0)])
    solids = _shell(rng, size) + _furnish(rng, size) + _decorate(rng, size)
    light = np.array([*rng.uniform(0.25 * size[:2], 0.75 * size[:2]), size[2] - 0.3])
    return Room(size=size, solids=solids, light=light, light_power=float(rng.uniform(3.0, 7.0)), ambient=float(rng.uniform(0.15, 0.35)))
