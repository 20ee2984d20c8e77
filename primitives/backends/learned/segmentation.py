"""Box-prompted segmentation: SAM and SAM 2.

Each frame is encoded once (batched over frames); then every box of that frame prompts the mask
decoder, one mask per box (``multimask_output=False``). Masks come back at the frame's own
resolution as booleans.

- SAM: the checkpoint's processor resizes the long side to 1024 and pads to a square; its
  ``post_process_masks`` removes the padding and resizes back.
- SAM 2: its processor needs torchvision, so frames are prepared here the way it does it: resized
  (aspect ratio not kept) to the prompt encoder's square input, scaled to [0, 1] and normalised
  with the ImageNet mean and std; box corners are scaled by the same factors; masks are resized
  back bilinearly and thresholded at logit 0.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.primitives.types import Masks

from .base import Adapter, as_rgb

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Segmenter(Adapter[Masks]):
    """Shared call and per-frame prompting of the SAM family; subclasses prepare and restore frames."""

    task = "segment"

    def __call__(self, images: list[Any], boxes: Sequence[np.ndarray]) -> list[Masks]:
        """One mask per box prompt in each frame.

        Args:
            images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
            boxes: per frame, an (N, 4) array of ``x0, y0, x1, y1`` pixel boxes (N may be 0).

        Returns:
            One `Masks` per frame: (N, H, W) bool masks, the boxes, the model's predicted IoU of
            each mask as its score, empty labels and ``frame_ids`` the frame's position in ``images``.
        """
        prompts = [np.asarray(b, dtype=np.float32).reshape(-1, 4) for b in boxes]
        if len(prompts) != len(images):
            raise ValueError(f"{len(images)} images but {len(prompts)} box arrays")
        frames = [as_rgb(image) for image in images]
        prompted = [index for index, prompt in enumerate(prompts) if len(prompt)]  # the rest skip the encoder
        decoded = dict(zip(prompted, self._run([frames[i] for i in prompted], [prompts[i] for i in prompted])))
        return [
            _renumbered(decoded[index], index) if index in decoded else Masks.empty(*frames[index].shape[:2])
            for index in range(len(frames))
        ]

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoModelForMaskGeneration

        return AutoModelForMaskGeneration.from_pretrained(path, local_files_only=True), self._load_processor(path)

    def _load_processor(self, path: Path) -> Any:
        """The processor or preprocessing settings saved beside the model (none by default)."""
        return None

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        inputs = self._prepare_images(images)
        inputs["boxes"] = prompts
        inputs["scaled_boxes"] = [self._scale_boxes(b, images[0].shape[:2]) for b in prompts]
        inputs["image_size"] = images[0].shape[:2]
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> list[tuple[Any, Any] | None]:
        """Encode the frames once, then decode each frame's boxes: per frame (mask logits, IoU) or None."""
        import torch

        embeddings = self.model.get_image_embeddings(inputs["pixel_values"])
        decoded: list[tuple[Any, Any] | None] = []
        for index, boxes in enumerate(inputs["scaled_boxes"]):
            if len(boxes) == 0:
                decoded.append(None)
                continue
            output = self.model(
                image_embeddings=self._frame_embedding(embeddings, index),
                input_boxes=torch.as_tensor(boxes, device=self.device, dtype=self.dtype)[None],
                multimask_output=False,
            )
            decoded.append((output.pred_masks[0, :, :1].float().cpu(), output.iou_scores[0, :, 0].float().cpu()))
        return decoded

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[Masks]:
        height, width = inputs["image_size"]
        results = []
        for index, decoded in enumerate(outputs):
            boxes = inputs["boxes"][index]
            if decoded is None:
                results.append(Masks.empty(height, width))
                continue
            logits, iou = decoded
            masks = self._restore_masks(logits, inputs, index)
            results.append(Masks(masks, boxes, iou.clamp(0.0, 1.0).numpy(), [""] * len(masks), np.zeros(len(masks))))
        return results

    def _frame_embedding(self, embeddings: Any, index: int) -> Any:
        """The image embedding of frame ``index`` of the batch, batch dimension kept."""
        return embeddings[index : index + 1]

    @abstractmethod
    def _prepare_images(self, images: list[np.ndarray]) -> dict[str, Any]:
        """Same-sized frames → ``pixel_values`` on the device (plus what ``_restore_masks`` needs)."""

    @abstractmethod
    def _scale_boxes(self, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """(N, 4) pixel boxes of an H×W frame → the model's input coordinates."""

    @abstractmethod
    def _restore_masks(self, logits: Any, inputs: dict[str, Any], index: int) -> np.ndarray:
        """(N, 1, h, w) low-resolution mask logits → (N, H, W) bool at the frame's resolution."""


def _renumbered(masks: Masks, frame_id: int) -> Masks:
    """``masks`` of one frame with every ``frame_ids`` entry set to ``frame_id``."""
    return Masks(masks.masks, masks.boxes, masks.scores, masks.labels, np.full(len(masks), frame_id), masks.instance_ids)


class SamSegmenter(Segmenter):
    """SAM (``facebook/sam-vit-base`` / ``-large`` / ``-huge``) with its processor."""

    model_types = ("sam",)

    def _load_processor(self, path: Path) -> Any:
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(path, local_files_only=True)

    @property
    def long_side(self) -> int:
        """The processor's input long side in pixels (1024 for released checkpoints)."""
        return int(self.processor.image_processor.size["longest_edge"])

    def _prepare_images(self, images: list[np.ndarray]) -> dict[str, Any]:
        encoded = self.processor.image_processor(images, return_tensors="pt")
        return {
            "pixel_values": encoded["pixel_values"].to(self.device, self.dtype),
            "original_sizes": encoded["original_sizes"],
            "reshaped_input_sizes": encoded["reshaped_input_sizes"],
        }

    def _scale_boxes(self, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        height, width = size
        scale = self.long_side / max(height, width)
        new_height, new_width = int(height * scale + 0.5), int(width * scale + 0.5)
        return boxes * np.array([new_width / width, new_height / height] * 2, dtype=np.float32)

    def _restore_masks(self, logits: Any, inputs: dict[str, Any], index: int) -> np.ndarray:
        masks = self.processor.image_processor.post_process_masks(
            [logits],
            inputs["original_sizes"][index : index + 1],
            inputs["reshaped_input_sizes"][index : index + 1],
        )[0]
        return masks[:, 0].numpy().astype(bool)


class Sam2Segmenter(Segmenter):
    """SAM 2 / 2.1 (``facebook/sam2.1-hiera-tiny`` and siblings), prepared by hand (no torchvision)."""

    model_types = ("sam2",)

    def _load_processor(self, path: Path) -> dict[str, Any]:
        """Normalisation settings from ``preprocessor_config.json`` when present, else SAM 2's defaults."""
        settings: dict[str, Any] = {"image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD}
        config = path / "preprocessor_config.json"
        if config.is_file():
            saved = json.loads(config.read_text())
            settings.update({k: saved[k] for k in ("image_mean", "image_std") if k in saved})
        return settings

    @property
    def input_side(self) -> int:
        """The square input side in pixels the prompt encoder expects (1024 for released checkpoints)."""
        size = self.model.config.prompt_encoder_config.image_size
        return int(size if isinstance(size, int) else size[0])

    def _prepare_images(self, images: list[np.ndarray]) -> dict[str, Any]:
        import torch

        side = self.input_side
        pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
        pixels = torch.nn.functional.interpolate(
            pixels, size=(side, side), mode="bilinear", align_corners=False, antialias=True
        )
        mean = torch.tensor(self.processor["image_mean"]).view(1, 3, 1, 1)
        std = torch.tensor(self.processor["image_std"]).view(1, 3, 1, 1)
        return {"pixel_values": ((pixels - mean) / std).to(self.device, self.dtype)}

    def _scale_boxes(self, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        height, width = size
        side = self.input_side
        return boxes * np.array([side / width, side / height] * 2, dtype=np.float32)

    def _frame_embedding(self, embeddings: Any, index: int) -> Any:
        return [level[index : index + 1] for level in embeddings]

    def _restore_masks(self, logits: Any, inputs: dict[str, Any], index: int) -> np.ndarray:
        import torch

        size = tuple(int(s) for s in inputs["image_size"])
        upsampled = torch.nn.functional.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return (upsampled[:, 0] > 0).numpy()
