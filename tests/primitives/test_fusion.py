"""`fusion.main_components`: the object's main part, the parts close to it, no specks."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.fusion import main_components


def blob(rng, centre, n: int, spread: float = 0.05) -> np.ndarray:
    return rng.normal(centre, spread, (n, 3))


def test_the_largest_part_and_a_large_part_near_it_are_kept_and_specks_dropped():
    rng = np.random.default_rng(0)
    shade = blob(rng, [0, 0, 1.5], 3000)
    pole = blob(rng, [0, 0, 1.05], 800, spread=0.03)  # cut from the shade by a 0.2 m gap
    far = blob(rng, [3, 0, 1], 800, spread=0.03)  # as large, but 3 m away
    specks = rng.uniform(-2, 2, (40, 3))
    kept = main_components(np.concatenate([shade, pole, far, specks]), voxel=0.05)
    rows = {tuple(p) for p in kept}
    assert all(tuple(p) in rows for p in shade) and all(tuple(p) in rows for p in pole)
    assert not any(tuple(p) in rows for p in far)
    assert sum(tuple(p) in rows for p in specks) <= 2  # only specks that happen to touch the shade or the pole


def test_a_cloud_scattered_into_thousands_of_specks_is_handled_in_one_pass():
    # a random-weight model's masks can scatter an object over the room: every speck is then a
    # component as large as the largest, and each used to be compared with the largest on its own
    rng = np.random.default_rng(1)
    scattered = rng.uniform(-3, 3, (20000, 3))
    kept = main_components(scattered, voxel=0.05)
    assert 0 < len(kept) < len(scattered)
    assert set(map(tuple, kept)) <= set(map(tuple, scattered))
