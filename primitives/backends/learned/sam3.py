"""SAM 3: text-prompted instance segmentation of every frame (``facebook/sam3``).

``Sam3Model`` finds every instance of a text concept ("chair") in an image and returns a mask,
a box and a score per instance; no detector is needed. The ``facebook/sam3`` checkpoint is a
``sam3_video`` one (detector + tracker): `sam3_video.Sam3Video` loads it once and serves both
segmentation (its detector, through this class's steps) and tracking; this class loads
image-only ``sam3`` checkpoints.

Its processor needs torchvision, so frames are prepared here the way ``Sam3ImageProcessor``
does it: resized (aspect ratio not kept) to the model's square input, scaled to [0, 1] and
normalised with the mean and std of ``preprocessor_config.json`` (0.5 by default). Each batch of
frames is encoded once; every phrase of the query is decoded against the same features.
Scores are ``sigmoid(logit) × sigmoid(presence)`` as in SAM 3's post-processing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.primitives.types import Masks

from .base import Adapter
from .detect import parse_query

SAM3_MEAN = (0.5, 0.5, 0.5)
SAM3_STD = (0.5, 0.5, 0.5)
TEXT_LENGTH = 32
"""Tokens per text prompt, as SAM 3's processor pads them."""


def read_normalisation(path: Path) -> dict[str, Any]:
    """``image_mean`` / ``image_std`` from a checkpoint's ``preprocessor_config.json``, else SAM 3's."""
    settings: dict[str, Any] = {"image_mean": SAM3_MEAN, "image_std": SAM3_STD}
    config = path / "preprocessor_config.json"
    if config.is_file():
        saved = json.loads(config.read_text())
        settings.update({k: saved[k] for k in ("image_mean", "image_std") if k in saved})
    return settings


def square_pixels(images: list[np.ndarray], side: int, settings: dict[str, Any]) -> Any:
    """(B, 3, side, side) float tensor of same-sized H×W×3 uint8 frames, normalised."""
    import torch

    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    pixels = torch.nn.functional.interpolate(pixels, size=(side, side), mode="bilinear", align_corners=False)
    mean = torch.tensor(settings["image_mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(settings["image_std"], dtype=torch.float32).view(1, 3, 1, 1)
    return (pixels - mean) / std


def tokenize(tokenizer: Any, phrases: list[str]) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` of each phrase, padded to SAM 3's 32 tokens."""
    encoded = tokenizer(phrases, return_tensors="pt", padding="max_length", max_length=TEXT_LENGTH, truncation=True)
    return encoded["input_ids"], encoded["attention_mask"]


def upsample_masks(logits: Any, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w) mask logits → (N, H, W) bool at the frame's size (bilinear, logit > 0)."""
    import torch

    if len(logits) == 0:
        return np.zeros((0, *size), bool)
    upsampled = torch.nn.functional.interpolate(logits[:, None].float(), size=size, mode="bilinear", align_corners=False)
    return (upsampled[:, 0] > 0).cpu().numpy()


class Sam3Segmenter(Adapter[Masks]):
    """Text prompt → instance masks per frame with SAM 3 (``facebook/sam3``).

    Args:
        threshold: default minimum instance score in [0, 1].

    Example:
        >>> segmenter = Sam3Segmenter("facebook/sam3")  # doctest: +SKIP
        >>> masks = segmenter([f.image for f in frames], "chair, table")  # doctest: +SKIP
        >>> masks[0].labels.tolist()  # doctest: +SKIP
        ['chair', 'chair', 'table']
    """

    task = "text_segment"
    model_types = ("sam3",)
    default_threshold = 0.5

    def __init__(self, model: str | Path, *, threshold: float | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.threshold = self.default_threshold if threshold is None else float(threshold)

    def __call__(self, images: list[Any], query: str | list[str], *, threshold: float | None = None) -> list[Masks]:
        """Every instance of each of the query's phrases, per frame.

        Args:
            images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
            query: ``"chair"``, ``"chair, table"`` or ``["chair", "table"]``.
            threshold: minimum score in [0, 1]; default ``self.threshold``.

        Returns:
            One `Masks` per frame: (N, H, W) bool masks, pixel boxes, scores, the phrase of each
            mask as its label, ``frame_ids`` the frame's position in ``images``.
        """
        phrases = parse_query(query)
        threshold = self.threshold if threshold is None else float(threshold)
        return self._run(images, list(range(len(images))), phrases=phrases, threshold=threshold)

    @property
    def detector(self) -> Any:
        """The ``Sam3Model`` that finds the instances."""
        return self.model

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoTokenizer, Sam3Model

        model = Sam3Model.from_pretrained(path, local_files_only=True)
        return model, {"tokenizer": AutoTokenizer.from_pretrained(path, local_files_only=True),
                       **read_normalisation(path)}

    @property
    def input_side(self) -> int:
        """The square input side in pixels (1008 for the released checkpoint)."""
        size = self.detector.config.vision_config.backbone_config.image_size
        return int(size if isinstance(size, int) else size[0])

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        ids, attention = tokenize(self.processor["tokenizer"], options["phrases"])
        return {
            "pixel_values": square_pixels(images, self.input_side, self.processor).to(self.device, self.dtype),
            "input_ids": ids.to(self.device),
            "attention_mask": attention.to(self.device),
            "frame_ids": list(prompts),
            "image_size": images[0].shape[:2],
        }

    def _forward(self, inputs: dict[str, Any]) -> list[Any]:
        """Encode the frames once, then decode each phrase against them: one output per phrase."""
        vision = self.detector.get_vision_features(pixel_values=inputs["pixel_values"])
        count = len(inputs["pixel_values"])
        outputs = []
        for p in range(len(inputs["input_ids"])):
            ids = inputs["input_ids"][p : p + 1].expand(count, -1)
            attention = inputs["attention_mask"][p : p + 1].expand(count, -1)
            outputs.append(self.detector(vision_embeds=vision, input_ids=ids, attention_mask=attention))
        return outputs

    def postprocess(self, outputs: list[Any], inputs: dict[str, Any], **options: Any) -> list[Masks]:
        """Per frame and phrase: instances above the threshold, masks and boxes at the frame's pixels."""
        height, width = inputs["image_size"]
        scale = np.array([width, height, width, height], np.float32)
        results = []
        for b, frame_id in enumerate(inputs["frame_ids"]):
            parts = []
            for phrase, output in zip(options["phrases"], outputs, strict=True):
                scores = output.pred_logits[b].float().sigmoid()
                if output.presence_logits is not None:
                    scores = scores * output.presence_logits[b].float().sigmoid()
                keep = (scores > options["threshold"]).nonzero()[:, 0].cpu()
                masks = upsample_masks(output.pred_masks[b][keep], (height, width))
                boxes = np.clip(output.pred_boxes[b][keep].float().cpu().numpy() * scale, 0, scale)
                found = masks.any(axis=(1, 2))
                parts.append(Masks(masks[found], boxes[found], scores[keep].cpu().numpy()[found],
                                   [phrase] * int(found.sum()), np.full(int(found.sum()), frame_id)))
            results.append(Masks.concat(parts, height, width))
        return results
