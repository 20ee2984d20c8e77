"""Open-vocabulary detection: Grounding DINO and OWLv2.

Both take a text query ("chair", "red chair, table") and return boxes in pixels of the input
frame, a score and the query phrase each box belongs to. Duplicate boxes of one phrase are
merged by non-maximum suppression.

- Grounding DINO reads the phrases as one caption ``"red chair. table."``; a box's score for a
  phrase is the highest probability over that phrase's tokens, and its label the best phrase.
- OWLv2 scores each phrase separately; it pads frames to a square, which its processor's
  post-processing undoes when given the frames' sizes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import Adapter, Detections, nms


def parse_query(query: str | Sequence[str]) -> list[str]:
    """The distinct phrases of a query: a list, or one string split at commas, periods and semicolons.

    >>> parse_query("Red chair, table. table")
    ['red chair', 'table']
    """
    parts = re.split(r"[,.;\n]", query) if isinstance(query, str) else list(query)
    phrases: list[str] = []
    for part in parts:
        phrase = " ".join(str(part).lower().split())
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases:
        raise ValueError(f"empty detection query: {query!r}")
    return phrases


class Detector(Adapter[Detections]):
    """Shared call and post-processing of the open-vocabulary detectors.

    Args:
        threshold: default minimum score of a kept box, in [0, 1].
        nms_iou: boxes of one phrase overlapping more than this IoU are merged.
        max_detections: at most this many boxes per frame (the best).
    """

    task = "detect"
    default_threshold = 0.3

    def __init__(
        self,
        model: str | Path,
        *,
        threshold: float | None = None,
        nms_iou: float = 0.5,
        max_detections: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, **kwargs)
        self.threshold = self.default_threshold if threshold is None else float(threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)

    def __call__(
        self, images: list[Any], query: str | Sequence[str], *, threshold: float | None = None
    ) -> list[Detections]:
        """Detect the query's phrases in each frame.

        Args:
            images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
            query: what to find: ``"chair"``, ``"chair, table"`` or ``["chair", "table"]``.
            threshold: minimum score in [0, 1]; default ``self.threshold``.

        Returns:
            One :class:`Detections` per frame: boxes in that frame's pixels, highest score first.
        """
        phrases = parse_query(query)
        threshold = self.threshold if threshold is None else float(threshold)
        return self._run(images, [phrases] * len(images), phrases=phrases, threshold=threshold)

    def _finish(
        self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, phrases: list[str], size: tuple[int, int]
    ) -> Detections:
        """Clip to the frame, drop empty boxes, suppress duplicates, cap the count."""
        height, width = size
        boxes = boxes.astype(np.float32).reshape(-1, 4).copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, scores, classes = boxes[valid], scores[valid], classes[valid]
        keep = nms(boxes, scores, classes, self.nms_iou)[: self.max_detections]
        return Detections(boxes[keep], scores[keep], [phrases[int(c)] for c in classes[keep]])


def _cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    cx, cy, w, h = np.moveaxis(boxes, -1, 0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


class GroundingDinoDetector(Detector):
    """Grounding DINO (``IDEA-Research/grounding-dino-tiny`` / ``-base``) through transformers."""

    model_types = ("grounding-dino", "mm-grounding-dino")
    default_threshold = 0.3

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        model = AutoModelForZeroShotObjectDetection.from_pretrained(path, local_files_only=True)
        return model, AutoProcessor.from_pretrained(path, local_files_only=True)

    def phrase_tokens(self, input_ids: Sequence[int], count: int) -> list[list[int]]:
        """Token positions of each of ``count`` phrases in a ``"a. b."`` caption's ``input_ids``."""
        tokenizer = self.processor.tokenizer
        separator = tokenizer.convert_tokens_to_ids(".")
        framing = {tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id}
        spans: list[list[int]] = [[]]
        for position, token in enumerate(input_ids):
            if token == separator:
                spans.append([])
            elif token not in framing:
                spans[-1].append(position)
        spans = [span for span in spans if span]
        if len(spans) != count:
            raise ValueError(
                f"the detector's text holds {len(spans)} of the {count} phrases asked for (too long?): "
                "ask for fewer objects"
            )
        return spans

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        caption = ". ".join(options["phrases"]) + "."
        encoded = self.processor(images=images, text=[caption] * len(images), return_tensors="pt")
        inputs = self.to_device(dict(encoded))
        inputs["image_size"] = images[0].shape[:2]
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> Any:
        names = ("pixel_values", "pixel_mask", "input_ids", "token_type_ids", "attention_mask")
        return self.model(**{name: inputs[name] for name in names if name in inputs})

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[Detections]:
        """Per box: probability of each phrase (max over its tokens), best phrase, pixel box."""
        phrases: list[str] = options["phrases"]
        height, width = inputs["image_size"]
        probs = outputs.logits.float().sigmoid().cpu().numpy()  # (B, queries, text tokens)
        boxes = _cxcywh_to_xyxy(outputs.pred_boxes.float().cpu().numpy()) * np.array(
            [width, height, width, height], dtype=np.float32
        )
        results = []
        for b in range(len(probs)):
            spans = self.phrase_tokens(inputs["input_ids"][b].tolist(), len(phrases))
            per_phrase = np.stack([probs[b][:, span].max(axis=1) for span in spans], axis=1)
            scores, classes = per_phrase.max(axis=1), per_phrase.argmax(axis=1)
            keep = scores > options["threshold"]
            results.append(self._finish(boxes[b][keep], scores[keep], classes[keep], phrases, (height, width)))
        return results


class Owlv2Detector(Detector):
    """OWLv2 (``google/owlv2-base-patch16-ensemble`` and siblings) through transformers."""

    model_types = ("owlv2",)
    default_threshold = 0.1

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        model = AutoModelForZeroShotObjectDetection.from_pretrained(path, local_files_only=True)
        return model, AutoProcessor.from_pretrained(path, local_files_only=True)

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        encoded = self.processor(images=images, text=[options["phrases"]] * len(images), return_tensors="pt")
        inputs = self.to_device(dict(encoded))
        inputs["image_size"] = images[0].shape[:2]
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> Any:
        names = ("pixel_values", "input_ids", "attention_mask")
        return self.model(**{name: inputs[name] for name in names})

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[Detections]:
        """The processor's post-processing (undoes the square padding), then clip and NMS."""
        size = tuple(int(s) for s in inputs["image_size"])
        outputs.logits = outputs.logits.float().cpu()
        outputs.pred_boxes = outputs.pred_boxes.float().cpu()
        raw = self.processor.post_process_grounded_object_detection(
            outputs, threshold=options["threshold"], target_sizes=[size] * len(outputs.logits)
        )
        return [
            self._finish(r["boxes"].numpy(), r["scores"].numpy(), r["labels"].numpy(), options["phrases"], size)
            for r in raw
        ]
