"""Procedural surface texture: a fixed tileable multi-scale noise image, sampled by world position.

Surfaces need texture so that SIFT matching and stereo work on rendered frames. The texture is
one 512×512 tile of 1/f noise (the same on every machine: a fixed RNG seed), with blurred
copies (a mip pyramid kept at full size) so that distant surfaces do not alias. A surface point
is looked up by its two world coordinates across its dominant normal axis, in texels of
``TEXEL`` metres, plus an offset per surface so that neighbours do not repeat each other.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

TILE = 512
"""Texels per side of the tile (a power of two: lookups wrap with a bit mask)."""

LEVELS = 6
"""Mip levels: level l is blurred to a texel footprint of 2**l."""

TEXEL = 0.008
"""Metres per texel of the fine layer."""

COARSE_TEXEL = 0.06
"""Metres per texel of the coarse layer (large blotches)."""


@lru_cache(maxsize=1)
def noise_levels() -> np.ndarray:
    """(LEVELS, TILE * TILE) float32 in [0, 1]: the tile and its blurred copies, flattened, tileable."""
    rng = np.random.default_rng(20261127)
    f = np.fft.fftfreq(TILE) * TILE
    radius = np.hypot(f[:, None], f[None, :])
    spectrum = np.fft.fft2(rng.standard_normal((TILE, TILE)))
    shaped = spectrum / np.maximum(radius, 1.0)
    shaped[0, 0] = 0.0
    out = np.empty((LEVELS, TILE * TILE), dtype=np.float32)
    for level in range(LEVELS):
        sigma = 0.0 if level == 0 else 0.5 * 2.0**level
        blur = np.exp(-2.0 * (np.pi * sigma * radius / TILE) ** 2)
        img = np.real(np.fft.ifft2(shaped * blur))
        if level == 0:
            scale = 2.5 * img.std()
        out[level] = np.clip(0.5 + img / scale, 0.0, 1.0).ravel()
    return out


def sample(u: np.ndarray, v: np.ndarray, level: np.ndarray | int = 0) -> np.ndarray:
    """Bilinear lookup of the tile at texel coordinates (u, v) (any shape, wrapped) and mip ``level``."""
    flat = noise_levels().ravel()
    u0 = np.floor(u)
    v0 = np.floor(v)
    fu = (u - u0).astype(np.float32)
    fv = (v - v0).astype(np.float32)
    iu = u0.astype(np.int64) & (TILE - 1)
    iv = v0.astype(np.int64) & (TILE - 1)
    iu1 = (iu + 1) & (TILE - 1)
    row = np.asarray(level, dtype=np.int64) * (TILE * TILE) + iv * TILE
    row1 = np.asarray(level, dtype=np.int64) * (TILE * TILE) + ((iv + 1) & (TILE - 1)) * TILE
    a = flat[row + iu]
    b = flat[row + iu1]
    c = flat[row1 + iu]
    d = flat[row1 + iu1]
    top = a + (b - a) * fu
    bottom = c + (d - c) * fu
    return top + (bottom - top) * fv


def surface_pattern(points: np.ndarray, normals: np.ndarray, offsets: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Texture value in [0, 1] of surface points.

    Args:
        points: (N, 3) world points, metres.
        normals: (N, 3) unit surface normals.
        offsets: (N, 2) texel offsets of each point's surface.
        footprint: (N,) width in metres that one pixel covers at the point (picks the mip level).

    Returns:
        (N,) float32.
    """
    axis = np.argmax(np.abs(normals), axis=1)
    a = np.where(axis == 0, points[:, 1], points[:, 0])
    b = np.where(axis == 2, points[:, 1], points[:, 2])
    level = np.clip(np.rint(np.log2(np.maximum(footprint, 1e-9) / TEXEL)), 0, LEVELS - 1).astype(np.int64)
    fine = sample(a * np.float32(1.0 / TEXEL) + offsets[:, 0], b * np.float32(1.0 / TEXEL) + offsets[:, 1], level)
    coarse = sample(
        a * np.float32(1.0 / COARSE_TEXEL) + offsets[:, 1] * np.float32(0.37),
        b * np.float32(1.0 / COARSE_TEXEL) + offsets[:, 0] * np.float32(0.61),
        0,
    )
    return np.float32(0.7) * fine + np.float32(0.3) * coarse
