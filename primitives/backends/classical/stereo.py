"""Two-view dense depth: rectify a posed pair of frames, run OpenCV semi-global matching (SGBM).

`disparity` is plain rectified stereo (tested on a real Middlebury pair). `pair_depth` takes two
frames with known intrinsics and poses (e.g. from structure-from-motion), rotates both into a
common rectified view whose x axis is the baseline, matches them, and maps the disparities back
to depth along frame ``i``'s own pixel rays. Pixels without a trustworthy match are NaN:
coverage is partial by design and `densify` fills the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def disparity(
    left: np.ndarray,
    right: np.ndarray,
    *,
    min_disparity: int = 0,
    num_disparities: int = 128,
    block_size: int = 5,
    lr_tolerance: float = 1.0,
) -> np.ndarray:
    """Disparity of a rectified pair by SGBM, with a left-right consistency check.

    Args:
        left: H×W×3 uint8 RGB (or H×W uint8 gray) left image.
        right: the right image, same shape; a point at column ``x`` in the left image is at
            column ``x - d`` in the right one.
        min_disparity: smallest disparity searched (pixels).
        num_disparities: width of the search range (pixels); rounded up to a multiple of 16.
        block_size: odd matching window size (pixels).
        lr_tolerance: a left disparity whose right-image match disagrees by more than this
            (pixels) is discarded (occlusions, mismatches).

    Returns:
        H×W float32 disparity in pixels; NaN where there is no consistent match.
    """
    import cv2

    num = int(np.ceil(max(num_disparities, 16) / 16.0) * 16)
    gl, gr = _gray(left), _gray(right)
    sgbm = cv2.StereoSGBM_create(
        minDisparity=int(min_disparity),
        numDisparities=num,
        blockSize=block_size,
        P1=8 * block_size * block_size,
        P2=32 * block_size * block_size,
        disp12MaxDiff=-1,
        uniquenessRatio=10,
        speckleWindowSize=100,
        speckleRange=2,
        mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    )
    # SGBM leaves the leftmost min+num columns empty: pad them on, match, crop them off.
    pad = max(0, int(min_disparity) + num)
    d_left = _match_padded(sgbm, gl, gr, pad)
    # Right-view disparities: the mirrored pair (flipped right as left) has the same disparities.
    d_right = _match_padded(sgbm, np.ascontiguousarray(gr[:, ::-1]), np.ascontiguousarray(gl[:, ::-1]), pad)[:, ::-1]
    invalid_value = int(min_disparity) - 1
    valid = d_left > invalid_value
    h, w = gl.shape
    cols = np.arange(w, dtype=np.float32)[None, :] - d_left
    xr = np.clip(np.round(cols).astype(np.int64), 0, w - 1)
    d_back = np.take_along_axis(d_right, xr, axis=1)
    valid &= (cols >= 0) & (d_back > invalid_value) & (np.abs(d_back - d_left) <= lr_tolerance)
    out = np.where(valid, d_left, np.nan).astype(np.float32)
    return out


def _match_padded(sgbm, left: np.ndarray, right: np.ndarray, pad: int) -> np.ndarray:  # noqa: ANN001 (cv2 type)
    """SGBM disparities (pixels) of ``left`` with ``pad`` replicated columns added on the left."""
    import cv2

    if pad:
        left = cv2.copyMakeBorder(left, 0, 0, pad, 0, cv2.BORDER_REPLICATE)
        right = cv2.copyMakeBorder(right, 0, 0, pad, 0, cv2.BORDER_REPLICATE)
    return sgbm.compute(left, right)[:, pad:].astype(np.float32) / 16.0


@dataclass
class RectifiedPair:
    """A common rectified view of two posed frames.

    Attributes:
        K: 3×3 intrinsics of both rectified images (pixels).
        R_i: 3×3 rotation from frame ``i``'s camera axes to the rectified axes.
        R_j: 3×3 rotation from frame ``j``'s camera axes to the rectified axes.
        baseline: distance between the two camera centres (world units).
        size: rectified image (width, height) in pixels.
    """

    K: np.ndarray
    R_i: np.ndarray
    R_j: np.ndarray
    baseline: float
    size: tuple[int, int]

    def homography_i(self, K_i: np.ndarray) -> np.ndarray:
        """3×3 map from frame ``i`` pixels to rectified pixels."""
        return self.K @ self.R_i @ np.linalg.inv(K_i)

    def homography_j(self, K_j: np.ndarray) -> np.ndarray:
        """3×3 map from frame ``j`` pixels to rectified pixels."""
        return self.K @ self.R_j @ np.linalg.inv(K_j)


def baseline_angle(pose_i: np.ndarray, pose_j: np.ndarray) -> float:
    """Angle (degrees) between frame ``i``'s viewing direction and the baseline to ``j``.

    Near 90° the pair is a good sideways stereo pair; near 0° or 180° the camera moved along its
    view and planar rectification breaks down.
    """
    b = pose_j[:3, 3] - pose_i[:3, 3]
    n = np.linalg.norm(b)
    if n == 0:
        return 0.0
    cosang = float(np.clip(pose_i[:3, 2] @ b / n, -1.0, 1.0))
    return float(np.degrees(np.arccos(cosang)))


def rectify(K_i: np.ndarray, pose_i: np.ndarray, K_j: np.ndarray, pose_j: np.ndarray, size: tuple[int, int]) -> RectifiedPair:
    """Rectifying rotations for two posed frames (``i`` becomes the left image).

    The rectified x axis points from camera ``i`` to camera ``j``; the viewing direction is the
    mean of the two cameras' optical axes made orthogonal to it; both rectified images share one
    intrinsics matrix whose principal point keeps frame ``i``'s centre pixel in view.

    Args:
        K_i, K_j: 3×3 intrinsics (pixels).
        pose_i, pose_j: 4×4 camera-to-world.
        size: image (width, height) in pixels.
    """
    b = pose_j[:3, 3] - pose_i[:3, 3]
    baseline = float(np.linalg.norm(b))
    x = b / baseline
    z = pose_i[:3, 2] + pose_j[:3, 2]
    z = z - (z @ x) * x
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    rect_from_world = np.stack([x, y, z])  # rows: rectified axes in world coordinates
    R_i = rect_from_world @ pose_i[:3, :3]
    R_j = rect_from_world @ pose_j[:3, :3]
    f = 0.5 * (K_i[0, 0] + K_i[1, 1])
    w, h = size
    centre = R_i @ np.linalg.solve(K_i, np.array([w / 2.0, h / 2.0, 1.0]))
    K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
    if centre[2] > 0:
        K[0, 2] -= f * centre[0] / centre[2]
        K[1, 2] -= f * centre[1] / centre[2]
    return RectifiedPair(K=K, R_i=R_i, R_j=R_j, baseline=baseline, size=size)


def pair_depth(
    image_i: np.ndarray,
    image_j: np.ndarray,
    K: np.ndarray,
    pose_i: np.ndarray,
    pose_j: np.ndarray,
    depth_range: tuple[float, float],
    *,
    block_size: int = 5,
    max_disparities: int = 256,
) -> np.ndarray:
    """Depth of frame ``i``'s pixels from stereo matching against frame ``j``.

    Args:
        image_i: H×W×3 uint8 RGB, the frame whose depth is wanted.
        image_j: H×W×3 uint8 RGB, a neighbouring frame.
        K: 3×3 intrinsics shared by both frames (pixels).
        pose_i, pose_j: 4×4 camera-to-world (any consistent unit).
        depth_range: (near, far) z-depths expected in frame ``i`` (same unit as the poses),
            e.g. from the sparse structure-from-motion points; it bounds the disparity search.
        block_size: SGBM window (pixels).
        max_disparities: cap on the disparity search width (pixels).

    Returns:
        H×W float32 z-depth along frame ``i``'s optical axis (pose units); NaN where unmatched.
    """
    import cv2

    h, w = image_i.shape[:2]
    rect = rectify(K, pose_i, K, pose_j, (w, h))
    H_i, H_j = rect.homography_i(K), rect.homography_j(K)
    left = cv2.warpPerspective(image_i, H_i, (w, h), flags=cv2.INTER_LINEAR)
    right = cv2.warpPerspective(image_j, H_j, (w, h), flags=cv2.INTER_LINEAR)
    seen = cv2.warpPerspective(np.full((h, w), 255, np.uint8), H_i, (w, h), flags=cv2.INTER_NEAREST) > 0
    seen &= cv2.warpPerspective(np.full((h, w), 255, np.uint8), H_j, (w, h), flags=cv2.INTER_NEAREST) > 0

    # Disparity search range from the expected depths: d = f·B/Z (rectified z ≈ z_i up to the
    # small rectifying rotation, widened by 30 % both ways).
    f = rect.K[0, 0]
    near, far = depth_range
    d_max = f * rect.baseline / max(near * 0.7, 1e-9)
    d_min = f * rect.baseline / (far * 1.3)
    # Principal points of both rectified images coincide, so no offset enters the disparity.
    lo = int(np.floor(d_min))
    num = int(min(max(16, np.ceil(d_max - lo)), max_disparities))
    disp = disparity(left, right, min_disparity=lo, num_disparities=num, block_size=block_size)
    disp[~seen] = np.nan
    disp[disp <= 0.5] = np.nan

    # Back to frame i: each pixel's ray in rectified coordinates, look up its disparity.
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(K).T  # z = 1 in camera i
    rays_r = rays @ rect.R_i.T
    proj = rays_r @ rect.K.T
    ur = (proj[..., 0] / proj[..., 2]).astype(np.float32)
    vr = (proj[..., 1] / proj[..., 2]).astype(np.float32)
    d_i = cv2.remap(disp, ur, vr, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=np.nan)
    z_rect = f * rect.baseline / d_i
    depth = z_rect / rays_r[..., 2]  # camera-i ray has z = 1, so its depth is the ray's scale
    depth[(rays_r[..., 2] <= 0) | ~np.isfinite(depth) | (depth <= 0)] = np.nan
    return depth.astype(np.float32)
