"""Procedural materials of the held-out renderer: albedo as a function of surface coordinates.

Written apart from `spatialclaw.synth` (which samples one tile of 1/f noise everywhere): here
every surface gets a material of its own kind (wood grain, floor tiles, bricks, painted plaster
with noise at several scales, woven fabric, procedural posters), evaluated analytically at
(u, v) surface coordinates in metres, so nothing repeats on a fixed tile and some surfaces carry
far less texture than others (as painted walls do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PATTERNS = ("wood", "tiles", "bricks", "plaster", "fabric", "poster")
"""The kinds of material a surface can have."""


@dataclass(frozen=True)
class Material:
    """A surface's look.

    Attributes:
        pattern: one of `PATTERNS`.
        base: (3,) main albedo, linear RGB in [0, 1].
        accent: (3,) second albedo (grain, grout, mortar, weave, ...).
        scale: the pattern's size in metres (plank width, tile side, brick length, ...).
        seed: decorrelates the noise of surfaces sharing a pattern.
        image: H×W×3 float albedo in [0, 1] for ``"poster"`` (stretched over the surface), else None.
    """

    pattern: str
    base: np.ndarray
    accent: np.ndarray
    scale: float
    seed: int
    image: np.ndarray | None = None


def _lattice(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-random value in [0, 1) per integer lattice point (an integer hash, no tables)."""
    h = (ix.astype(np.int64) * 374761393 + iy.astype(np.int64) * 668265263 + seed * 982451653) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return (h & 0xFFFFFF).astype(np.float64) / float(0x1000000)


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1] with features about one unit across, at (N,) coordinates."""
    iu, iv = np.floor(u), np.floor(v)
    fu, fv = u - iu, v - iv
    su, sv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    a, b = _lattice(iu, iv, seed), _lattice(iu + 1, iv, seed)
    c, d = _lattice(iu, iv + 1, seed), _lattice(iu + 1, iv + 1, seed)
    return (a * (1 - su) + b * su) * (1 - sv) + (c * (1 - su) + d * su) * sv


def fbm(u: np.ndarray, v: np.ndarray, seed: int, coarsest: float, octaves: int, gain: float = 0.6) -> np.ndarray:
    """Noise summed over ``octaves`` scales, the coarsest ``coarsest`` metres across, in [0, 1]."""
    total, weight, norm = np.zeros_like(u, dtype=np.float64), 1.0, 0.0
    for k in range(octaves):
        f = (2.0**k) / coarsest
        total += weight * value_noise(u * f + 17.3 * k, v * f - 5.1 * k, seed + 101 * k)
        norm += weight
        weight *= gain
    return total / norm


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a[None, :] * (1 - t[:, None]) + b[None, :] * t[:, None]


def _wood(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """Planks ``scale`` wide along u, each with its own tone, rings bent by noise."""
    plank = np.floor(v / m.scale)
    tone = 0.8 + 0.4 * _lattice(plank, plank * 0 + 7, m.seed)
    warp = fbm(u, v, m.seed, 0.4, 3)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * ((v % m.scale) * 14 / m.scale + 4 * warp + 0.3 * _lattice(plank, plank, m.seed)))
    seam = np.clip(np.abs((v / m.scale) % 1 - 0.5) * 2 - 0.94, 0, 1) / 0.06
    grain = 0.15 * fbm(u * 0.2, v * 8, m.seed + 3, 0.05, 3)
    out = _mix(m.base, m.accent, np.clip(rings**3 + grain, 0, 1)) * tone[:, None]
    return out * (1 - 0.6 * seam[:, None])


def _tiles(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """Square tiles of side ``scale``, each tinted, with grout lines and speckle."""
    tu, tv = np.floor(u / m.scale), np.floor(v / m.scale)
    fu, fv = (u / m.scale) % 1, (v / m.scale) % 1
    grout = (np.minimum(np.minimum(fu, 1 - fu), np.minimum(fv, 1 - fv)) < 0.035).astype(np.float64)
    tint = 0.75 + 0.5 * _lattice(tu, tv, m.seed)
    speckle = 0.85 + 0.3 * fbm(u, v, m.seed + 9, 0.03, 2)
    tile = m.base[None, :] * (tint * speckle)[:, None]
    return tile * (1 - grout[:, None]) + m.accent[None, :] * grout[:, None]


def _bricks(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """Bricks ``scale`` long and a third as high, every other row offset by half, in mortar."""
    h = m.scale / 3
    row = np.floor(v / h)
    uu = u / m.scale + 0.5 * (row % 2)
    col = np.floor(uu)
    fu, fv = uu % 1, (v / h) % 1
    mortar = ((fu < 0.04) | (fv < 0.1)).astype(np.float64)
    tone = 0.7 + 0.6 * _lattice(col, row, m.seed)
    rough = 0.8 + 0.4 * fbm(u, v, m.seed + 5, 0.08, 3)
    brick = m.base[None, :] * (tone * rough)[:, None]
    return brick * (1 - mortar[:, None]) + m.accent[None, :] * mortar[:, None]


def _plaster(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """Painted plaster: blotches ``scale`` across over fine grit, weakly textured."""
    coarse = fbm(u, v, m.seed, m.scale, 4)
    grit = fbm(u, v, m.seed + 1, 0.02, 2)
    return _mix(m.base, m.accent, np.clip(0.7 * coarse + 0.3 * grit, 0, 1))


def _fabric(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """A woven check: two thread directions ``scale`` apart, with wear noise."""
    a = 0.5 + 0.5 * np.sin(2 * np.pi * u / m.scale)
    b = 0.5 + 0.5 * np.sin(2 * np.pi * v / m.scale)
    wear = fbm(u, v, m.seed, 0.25, 4)
    return _mix(m.base, m.accent, np.clip(0.4 * (a * b) + 0.3 * ((a > 0.8) ^ (b > 0.8)) + 0.5 * wear - 0.1, 0, 1))


def _poster(u: np.ndarray, v: np.ndarray, m: Material) -> np.ndarray:
    """The poster image stretched over u, v in [0, 1] (nearest texel)."""
    assert m.image is not None
    h, w = m.image.shape[:2]
    x = np.clip((u * w).astype(np.int64), 0, w - 1)
    y = np.clip(((1 - v) * h).astype(np.int64), 0, h - 1)
    return m.image[y, x]


_PATTERN_FUNCTIONS = {"wood": _wood, "tiles": _tiles, "bricks": _bricks, "plaster": _plaster, "fabric": _fabric, "poster": _poster}


def albedo(material: Material, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N, 3) linear albedo in [0, 1] of ``material`` at (N,) surface coordinates (metres;
    posters: fractions of the poster's width and height)."""
    return np.clip(_PATTERN_FUNCTIONS[material.pattern](u, v, material), 0.0, 1.0)


def poster_image(rng: np.random.Generator, width: int = 160, height: int = 120) -> np.ndarray:
    """A procedural "photo": a graded sky, hills, discs and blocks in random colours, and grain.

    Returns:
        height×width×3 float albedo in [0, 1].
    """
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width], float)[:, None, None]
    top, bottom = rng.uniform(0.2, 1.0, 3), rng.uniform(0.0, 0.7, 3)
    img = top[None, None] * (1 - y[..., None]) + bottom[None, None] * y[..., None]
    ridge = 0.55 + 0.1 * np.sin(x * rng.uniform(4, 12) + rng.uniform(0, 6)) + 0.05 * np.sin(x * 31)
    img = np.where((y > ridge)[..., None], rng.uniform(0, 0.6, 3)[None, None] * (0.7 + 0.3 * y[..., None]), img)
    for _ in range(int(rng.integers(3, 8))):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.04, 0.2)
        colour = rng.uniform(0, 1, 3)
        if rng.random() < 0.5:
            inside = (x - cx) ** 2 + ((y - cy) * height / width) ** 2 < r**2
        else:
            inside = (np.abs(x - cx) < r) & (np.abs(y - cy) < 0.7 * r)
        img[inside] = colour
    grain = rng.normal(0, 0.04, img.shape[:2])[..., None]
    return np.clip(img + grain, 0, 1)


def random_material(rng: np.random.Generator, pattern: str) -> Material:
    """A `Material` of ``pattern`` with random colours and size."""
    scales = {"wood": (0.12, 0.22), "tiles": (0.2, 0.45), "bricks": (0.2, 0.3), "plaster": (0.3, 1.2),
              "fabric": (0.03, 0.08), "poster": (1.0, 1.0)}
    base = rng.uniform(0.25, 0.85, 3)
    accent = np.clip(base * rng.uniform(0.3, 0.7) + rng.uniform(-0.1, 0.1, 3), 0, 1)
    image = poster_image(rng) if pattern == "poster" else None
    return Material(pattern, base, accent, float(rng.uniform(*scales[pattern])), int(rng.integers(1 << 30)), image)
