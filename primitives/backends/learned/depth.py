"""Monocular depth: Depth Anything (V1/V2, metric or relative) and DPT checkpoints.

``AutoModelForDepthEstimation`` with the checkpoint's image processor. Depth Anything runs at
its 518-pixel input with sides that are multiples of the 14-pixel patch (the aspect ratio kept),
whatever the saved processor says; DPT runs at its processor's settings. The prediction is
resized bilinearly to each input frame, so it never overshoots the model's range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import Adapter

DEPTH_ANYTHING_INPUT = 518
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DepthEstimator(Adapter[np.ndarray]):
    """Per-frame depth from one RGB frame.

    ``metric`` tells what the numbers are: True (Depth Anything metric checkpoints) → metres
    along the optical axis, in ``[0, max_depth]``; False (DPT, relative Depth Anything) →
    relative inverse depth, unitless, larger is nearer.

    Example:
        >>> estimator = DepthEstimator("depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf")  # doctest: +SKIP
        >>> depth = estimator([frame.image for frame in frames])[0]  # doctest: +SKIP
        >>> depth.shape == frames[0].image.shape[:2]  # doctest: +SKIP
        True
    """

    task = "depth"
    model_types = ("depth_anything", "dpt")

    def __init__(self, model: str | Path, *, input_size: int | None = None, **kwargs: Any) -> None:
        self.input_size = input_size
        super().__init__(model, **kwargs)
        config = self.model.config
        self.metric = config.model_type == "depth_anything" and config.depth_estimation_type == "metric"
        self.max_depth = float(config.max_depth) if self.metric else None

    def __call__(self, images: list[Any]) -> list[np.ndarray]:
        """Depth of each frame.

        Args:
            images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).

        Returns:
            One H×W float32 array per frame, at the frame's own resolution: metres when
            ``self.metric``, else relative inverse depth.
        """
        return self._run(images)

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        model = AutoModelForDepthEstimation.from_pretrained(path, local_files_only=True)
        if (path / "preprocessor_config.json").is_file():
            processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
        else:
            from transformers import DPTImageProcessor

            processor = DPTImageProcessor(image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD))
        return model, processor

    def _size_options(self) -> dict[str, Any]:
        """Per-call processor settings: the checkpoint's, except Depth Anything's fixed input rule."""
        if self.model_type != "depth_anything":
            if self.input_size is None:
                return {}
            return {"size": {"height": self.input_size, "width": self.input_size}}
        side = self.input_size or DEPTH_ANYTHING_INPUT
        return {
            "size": {"height": side, "width": side},
            "keep_aspect_ratio": True,
            "ensure_multiple_of": int(self.model.config.patch_size),
            "do_pad": False,
        }

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        encoded = self.processor(images=images, return_tensors="pt", **self._size_options())
        inputs = self.to_device({"pixel_values": encoded["pixel_values"]})
        inputs["image_size"] = images[0].shape[:2]
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> Any:
        return self.model(pixel_values=inputs["pixel_values"]).predicted_depth

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[np.ndarray]:
        """Resize the (B, h, w) prediction to the frames' H×W (bilinear) as float32 numpy arrays."""
        import torch

        depth = torch.nn.functional.interpolate(
            outputs.float().unsqueeze(1), size=tuple(inputs["image_size"]), mode="bilinear", align_corners=False
        )[:, 0]
        if self.metric:
            depth = depth.clamp(min=0.0)
        return [d.cpu().numpy().astype(np.float32) for d in depth]
