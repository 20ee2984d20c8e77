"""Radial lens distortion for the depth stages: stereo on pinhole images, depth back on the frames' pixels.

Structure-from-motion estimates a radially distorted camera (COLMAP's ``SIMPLE_RADIAL`` or
``RADIAL``: a pixel is ``f·x·(1 + k1·r² + k2·r⁴) + c`` for the normalised ray ``x``, OpenCV's
radial model with the same coefficients). Plane sweeps, rectified stereo and the depth-consistency
check all assume straight pixel rays, so the frames are first resampled to the pinhole camera with
the same intrinsics (`Undistortion.image`), depth is computed there, and the depth maps are
resampled back onto the frames' own (distorted) pixels (`Undistortion.depth_to_frame`): depth is
the z of the point each frame pixel sees, in either geometry.

The lens model and its inverse are `spatialclaw.primitives.lens`'s, the one that
``Reconstruction.points`` applies to that depth afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialclaw.primitives import lens

NEGLIGIBLE = 1e-4
"""Distortion that moves the image corner by less than this fraction of its distance from the
principal point (|k1|·r² + |k2|·r⁴, r the corner's normalised radius) is left alone."""


def _cv_coefficients(distortion: np.ndarray) -> np.ndarray:
    k = np.zeros(4)
    k[: min(2, len(distortion))] = np.asarray(distortion, dtype=np.float64)[:2]
    return k  # OpenCV order: k1, k2, p1, p2


@dataclass(frozen=True)
class Undistortion:
    """Resampling between a distorted camera's pixels and the pinhole camera with the same ``K``.

    Attributes:
        K: 3×3 intrinsics (pixels) shared by both cameras.
        coefficients: OpenCV distortion coefficients (k1, k2, 0, 0).
        pinhole_from_frame: H×W×2 float32: where each frame pixel lies in the pinhole image.
        frame_from_pinhole: H×W×2 float32: where each pinhole pixel lies in the frame.
    """

    K: np.ndarray
    coefficients: np.ndarray
    pinhole_from_frame: np.ndarray
    frame_from_pinhole: np.ndarray

    def image(self, image: np.ndarray) -> np.ndarray:
        """The H×W(×C) frame resampled to the pinhole camera (bilinear; black outside the frame)."""
        import cv2

        maps = self.frame_from_pinhole
        return cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def points(self, uv: np.ndarray) -> np.ndarray:
        """(n, 2) frame pixels → their positions in the pinhole image."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        return lens.ray_pixels(lens.pixel_rays(uv, self.K, self.coefficients[:2]), self.K)

    def depth_to_frame(self, depth: np.ndarray) -> np.ndarray:
        """An H×W depth map of the pinhole camera (NaN = unknown) on the frame's pixels.

        Nearest-neighbour sampling: depth is never blended across an object's edge; pixels that
        fall outside the pinhole image are NaN.
        """
        import cv2

        maps = self.pinhole_from_frame
        return cv2.remap(depth.astype(np.float32), maps[..., 0], maps[..., 1], cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))

    def mask_to_frame(self, mask: np.ndarray) -> np.ndarray:
        """An H×W bool mask of the pinhole camera on the frame's pixels (nearest; False outside)."""
        return np.nan_to_num(self.depth_to_frame(mask.astype(np.float32)), nan=0.0) > 0.5


def undistortion(K: np.ndarray, distortion: np.ndarray, hw: tuple[int, int]) -> Undistortion | None:
    """The resampling maps for a camera with radial ``distortion`` (k1,) or (k1, k2) over ``hw`` images.

    Args:
        K: 3×3 intrinsics (pixels) at the images' resolution.
        distortion: radial coefficients in COLMAP's (= OpenCV's) convention; empty for a pinhole camera.
        hw: (height, width) of the images.

    Returns:
        None when the distortion is negligible over the image (nothing to resample).
    """
    h, w = hw
    coefficients = _cv_coefficients(np.asarray(distortion, dtype=np.float64).reshape(-1))
    corner = np.array([max(K[0, 2], w - K[0, 2]) / K[0, 0], max(K[1, 2], h - K[1, 2]) / K[1, 1]])
    r2 = float(corner @ corner)
    if abs(coefficients[0]) * r2 + abs(coefficients[1]) * r2 * r2 < NEGLIGIBLE:
        return None
    K = np.asarray(K, dtype=np.float64)
    v, u = np.indices((h, w), dtype=np.float64)
    grid = np.stack([u, v], axis=-1)
    back = lens.ray_pixels(lens.pixel_rays(grid, K, coefficients[:2]), K).astype(np.float32)
    # Pinhole pixels whose ray lies past a barrel lens's fold see nothing of the frame (-1: outside).
    forward = np.nan_to_num(lens.ray_pixels(lens.pixel_rays(grid, K), K, coefficients[:2]), nan=-1.0).astype(np.float32)
    return Undistortion(K=K, coefficients=coefficients, pinhole_from_frame=back, frame_from_pinhole=forward)
