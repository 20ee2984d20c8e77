"""Hand-held camera walks through a held-out room, and the camera that films them.

A walk is a smooth curve through a few random free spots of the floor (a cubic spline over
chord length), travelled at a speed that rises and falls, with the camera carried at one
height between 1.2 and 1.7 m (a small step bob on top), looking ahead and around (yaw swings
left and right of the walking direction, towards the room's middle), pitched down so the floor
shows, with a little roll and shake. Poses are camera-to-world, camera axes x right, y down,
z forward, in the room's metric world (+z up, floor at z = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.testing.heldout.room import Room


@dataclass(frozen=True)
class Camera:
    """A pinhole camera with two radial distortion terms.

    A point at normalised (undistorted) image coordinates (x, y) appears at
    ``(x, y) * (1 + k1 r² + k2 r⁴)``, r² = x² + y², then ``K`` maps to pixels.

    Attributes:
        K: 3×3 intrinsics (pixels).
        distortion: (k1, k2).
        width, height: image size (pixels).
    """

    K: np.ndarray
    distortion: tuple[float, float]
    width: int
    height: int

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view of the pinhole part (degrees)."""
        return float(np.degrees(2 * np.arctan2(self.width / 2, self.K[0, 0])))


def random_camera(rng: np.random.Generator, width: int, height: int, distort: bool) -> Camera:
    """A camera with a 55–80° horizontal field of view, square pixels, the principal point a few
    pixels off centre, and mild barrel or pincushion distortion when ``distort``."""
    fov = np.radians(rng.uniform(55.0, 80.0))
    f = width / 2 / np.tan(fov / 2)
    cx = (width - 1) / 2 + rng.uniform(-0.01, 0.01) * width
    cy = (height - 1) / 2 + rng.uniform(-0.01, 0.01) * height
    k = (float(rng.uniform(-0.12, 0.04)), float(rng.uniform(-0.02, 0.02))) if distort else (0.0, 0.0)
    return Camera(np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]]), k, width, height)


@dataclass(frozen=True)
class Walk:
    """A camera walk: N frame times (seconds) and N camera-to-world poses (4×4, metres)."""

    times: np.ndarray
    poses: np.ndarray
    height: float

    def path_length(self) -> float:
        """Length of the polyline through the camera centres (metres)."""
        return float(np.linalg.norm(np.diff(self.poses[:, :3, 3], axis=0), axis=1).sum())


def _clear(room: Room, xy: np.ndarray, margin: float) -> bool:
    """True where the floor point ``xy`` (…, 2) is ``margin`` metres from walls and furniture."""
    ok = (xy[..., 0] > margin) & (xy[..., 0] < room.size[0] - margin) & (xy[..., 1] > margin) & (xy[..., 1] < room.size[1] - margin)
    for s in room.furniture():
        ok &= np.linalg.norm(xy - s.centre[:2], axis=-1) > s.footprint_radius() + margin
    return ok


def _waypoints(rng: np.random.Generator, room: Room, count: int, margin: float) -> np.ndarray | None:
    """``count`` floor spots ``margin`` metres clear, ordered greedily so the walk does not zigzag."""
    spots = rng.uniform([0, 0], room.size[:2], (400, 2))
    spots = spots[_clear(room, spots, margin)]
    if len(spots) < count:
        return None
    chosen = [spots[rng.integers(len(spots))]]
    for _ in range(count - 1):
        d = np.linalg.norm(spots - chosen[-1], axis=1)
        near = spots[(d > 0.8) & (d < 2.5)]
        if not len(near):
            return None
        chosen.append(near[rng.integers(len(near))])
    return np.array(chosen)


def look_at(eye: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """4×4 camera-to-world pose at ``eye`` looking along compass ``yaw`` (radians from +x towards
    +y), tilted down by ``pitch`` and rolled by ``roll`` (radians) about its viewing axis."""
    forward = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), -np.sin(pitch)])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.cross(forward, right)
    c, s = np.cos(roll), np.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    return pose


def _wobble(rng: np.random.Generator, times: np.ndarray, period_s: float) -> np.ndarray:
    """Zero-mean smooth noise of unit peak at ``times`` (s): random knots every ``period_s``
    seconds of the walk, joined by a cubic spline (the same walk whatever the frame count)."""
    from scipy.interpolate import CubicSpline

    knots = np.arange(0.0, times[-1] + 2 * period_s, period_s)
    values = rng.normal(size=len(knots))
    values -= values.mean()
    return CubicSpline(knots, values / max(np.abs(values).max(), 1e-9))(times)


def _orientation(rng: np.random.Generator, room: Room, xy: np.ndarray, tangent: np.ndarray,
                 t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yaw, pitch and roll (radians) per sample: ahead blended towards the room's middle, swinging
    left and right, pitched 10–30° down, rolled up to ~3°."""
    heading = np.unwrap(np.arctan2(tangent[:, 1], tangent[:, 0]))
    to_middle = np.arctan2(room.size[1] / 2 - xy[:, 1], room.size[0] / 2 - xy[:, 0])
    to_middle = heading + np.angle(np.exp(1j * (to_middle - heading)))
    base = heading + rng.uniform(0.5, 0.9) * (to_middle - heading)
    swing = np.radians(rng.uniform(10, 35)) * np.sin(2 * np.pi * t / rng.uniform(3.0, 6.0) + rng.uniform(0, 2 * np.pi))
    yaw = base + swing + np.radians(2.0) * _wobble(rng, t, 0.4)
    pitch = np.radians(rng.uniform(10, 30)) + np.radians(5) * _wobble(rng, t, 1.5)
    roll = np.radians(rng.uniform(-2, 2)) + np.radians(1.5) * _wobble(rng, t, 1.0)
    return yaw, pitch, roll


def _route(rng: np.random.Generator, room: Room):  # noqa: ANN202 (a scipy CubicSpline)
    """A spline through free waypoints that stays clear of walls and furniture, over chord
    length (metres); the clearances shrink for crowded rooms.

    Raises:
        ValueError: no free route fits in the room.
    """
    from scipy.interpolate import CubicSpline

    for margin in (0.5, 0.4, 0.3):
        for _ in range(30):
            points = _waypoints(rng, room, int(rng.integers(3, 6)), margin)
            if points is None:
                continue
            chord = np.r_[0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]
            curve = CubicSpline(chord, points, bc_type="natural")
            if _clear(room, curve(np.linspace(0, chord[-1], 400)), margin - 0.2).all():
                return curve, float(chord[-1])
    raise ValueError("no free camera walk fits in this room: try another seed")


def random_walk(rng: np.random.Generator, room: Room, frames: int, speed: float = 0.5) -> Walk:
    """A hand-held walk of ``frames`` frames at about ``speed`` m/s (rising and falling ±40 %).
    The walk is a function of time: more frames sample the same walk more densely.

    Raises:
        ValueError: no free walk fits in the room (too much furniture); try another seed.
    """
    curve, chord = _route(rng, room)
    length = float(np.linalg.norm(np.diff(curve(np.linspace(0, chord, 1000)), axis=0), axis=1).sum())
    duration = length / speed
    times = np.linspace(0.0, duration, frames)  # a constant frame rate; the pace varies
    fine = np.linspace(0.0, duration, 1000)
    pace = 1 + 0.4 * np.sin(2 * np.pi * fine / rng.uniform(2.0, 5.0) + rng.uniform(0, 2 * np.pi))
    s = np.interp(times, fine, chord * np.r_[0, np.cumsum(pace[1:])] / pace[1:].sum())
    xy = curve(s) + 0.01 * np.c_[_wobble(rng, times, 0.3), _wobble(rng, times, 0.3)]
    height = float(rng.uniform(1.2, 1.7))
    z = height + 0.015 * np.sin(2 * np.pi * 1.8 * times + rng.uniform(0, 2 * np.pi))
    yaw, pitch, roll = _orientation(rng, room, xy, curve(s, 1), times)
    poses = np.stack([look_at(np.array([x, y, h]), a, b, c) for (x, y), h, a, b, c in zip(xy, z, yaw, pitch, roll)])
    return Walk(times=times, poses=poses, height=height)
