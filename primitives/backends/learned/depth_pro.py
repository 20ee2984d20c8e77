"""Depth Pro (``apple/DepthPro-hf``): metric depth and the camera's focal length from one frame.

``DepthProForDepthEstimation`` predicts a canonical inverse depth and, with its field-of-view
head, the horizontal field of view in degrees. As Depth Pro's own post-processing does: the focal
length is ``f = 0.5 W / tan(fov / 2)`` pixels for a frame W pixels wide, and the metric depth is
``f / (W · prediction)`` metres. Its processor needs torchvision, so frames are prepared here as
it does: scaled to [0, 1], normalised with mean and std 0.5, resized (aspect ratio not kept) to
the model's square input (``patch_size / min(scaled_images_ratios)``: 1536 for the release).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import Adapter
from .sam3 import read_normalisation, square_pixels

MIN_INVERSE_DEPTH = 1e-4
"""Predictions are clamped here before inverting, as Depth Pro's post-processing does (depth ≤ 10 km)."""


class DepthProEstimator(Adapter[tuple[np.ndarray, float | None]]):
    """Metric depth (metres) and focal length (pixels) per frame with Depth Pro.

    ``metric`` is True; ``max_depth`` is None (Depth Pro has no fixed range).

    Example:
        >>> estimator = DepthProEstimator("apple/DepthPro-hf")  # doctest: +SKIP
        >>> depth = estimator([frame.image])[0]  # doctest: +SKIP
        >>> estimator.with_focal([frame.image])[0][1]  # focal length in pixels  # doctest: +SKIP
        1050.2
    """

    task = "depth"
    model_types = ("depth_pro",)
    metric = True
    max_depth = None

    def __call__(self, images: list[Any]) -> list[np.ndarray]:
        """H×W float32 metric depth (metres along the optical axis) of each frame."""
        return [depth for depth, _ in self.with_focal(images)]

    def with_focal(self, images: list[Any]) -> list[tuple[np.ndarray, float | None]]:
        """Per frame: (H×W float32 depth in metres, focal length in pixels or None without a fov head).

        Without the field-of-view head the focal length is unknown and the depth is the inverse
        of the prediction (not metric); released checkpoints have the head.
        """
        return self._run(images)

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import DepthProForDepthEstimation

        model = DepthProForDepthEstimation.from_pretrained(path, local_files_only=True)
        return model, read_normalisation(path)

    @property
    def input_side(self) -> int:
        """The square input side in pixels (1536 for ``apple/DepthPro-hf``)."""
        config = self.model.config
        return int(round(config.patch_size / min(config.scaled_images_ratios)))

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        return {
            "pixel_values": square_pixels(images, self.input_side, self.processor).to(self.device, self.dtype),
            "image_size": images[0].shape[:2],
        }

    def _forward(self, inputs: dict[str, Any]) -> Any:
        return self.model(pixel_values=inputs["pixel_values"])

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[tuple[np.ndarray, float | None]]:
        """Resize each prediction to the frame, turn it into metres with the frame's focal length."""
        import torch

        height, width = inputs["image_size"]
        predicted = torch.nn.functional.interpolate(
            outputs.predicted_depth.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
        )[:, 0]
        fovs = outputs.field_of_view
        results = []
        for k, inverse in enumerate(predicted):
            focal = None
            if fovs is not None:
                fov = torch.deg2rad(fovs[k].float().reshape(())).clamp(min=1e-3, max=np.pi - 1e-3)
                focal = float(0.5 * width / torch.tan(0.5 * fov))
                inverse = inverse * width / focal
            depth = 1.0 / inverse.clamp(min=MIN_INVERSE_DEPTH, max=1.0 / MIN_INVERSE_DEPTH)
            results.append((depth.cpu().numpy().astype(np.float32), focal))
        return results
