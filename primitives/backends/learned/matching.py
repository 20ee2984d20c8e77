"""Learned feature matching for structure-from-motion: SuperPoint keypoints, LightGlue matches.

One checkpoint serves both steps: a LightGlue checkpoint (``ETH-CVG/lightglue_superpoint``)
carries the SuperPoint detector it was trained with (``model.keypoint_detector``). Keypoints and
descriptors are computed once per frame (`KeypointMatcher.keypoints`, batched over frames), then
matched per pair (`KeypointMatcher.match`, batched over pairs) from those by LightGlue's own pair
step (``_match_image_pair``, what its ``forward`` runs after SuperPoint), so every pair of a
frame sees the same keypoints, as COLMAP's database needs (SuperPoint run per pair would not
promise that: batching alone reorders its tied keypoints). Calling the adapter with frames and
pairs does both and returns `sfm_matches.MatchedFeatures`: it is the classical SfM's
`sfm_matches.Matcher`.

Frames are turned grey (NTSC weights, as LightGlue's processor does), scaled to [0, 1] and
resized so that the longer side is at most ``input_size`` pixels and both sides are multiples
of 8 (SuperPoint's cell); keypoints come back in the frame's own pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.errors import PerceptionError
from spatialclaw.primitives.backends.classical.sfm_matches import MatchedFeatures

from .base import Adapter

MAX_KEYPOINTS = 2048
"""Keypoints kept per frame (the strongest) on a GPU, as LightGlue's authors run SfM."""

CPU_MAX_KEYPOINTS = 1024
"""Keypoints kept per frame on the CPU: LightGlue's attention costs the square of the keypoints,
and the SfM matches up to 780 pairs (40 frames, all pairs)."""

INPUT_SIZE = 1024
"""Longest side (pixels) a frame is given to SuperPoint at; larger frames are shrunk."""

PAIR_BATCH = 8
"""Frame pairs per LightGlue forward pass."""

GREY = (0.299, 0.587, 0.114)


@dataclass
class FrameKeypoints:
    """SuperPoint's keypoints in one frame.

    Attributes:
        keypoints: (K, 2) float32 ``x, y`` in pixels of the frame (pixel centres at integers).
        scores: (K,) float32 detection scores in [0, 1].
        descriptors: (K, D) float32 unit-length descriptors.
        image_size: the frame's (height, width) in pixels.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    descriptors: np.ndarray
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.keypoints)


@dataclass
class PairMatches:
    """LightGlue's matches between two frames.

    Attributes:
        matches: (M, 2) int64 rows ``(keypoint index in the first frame, in the second)``.
        scores: (M,) float32 match confidences in [0, 1].
    """

    matches: np.ndarray
    scores: np.ndarray


def model_input_size(height: int, width: int, input_size: int) -> tuple[int, int]:
    """(height, width) a frame is resized to: longer side at most ``input_size``, multiples of 8.

    >>> model_input_size(480, 640, 1024)
    (480, 640)
    >>> model_input_size(1080, 1920, 1024)
    (576, 1024)
    """
    scale = min(1.0, input_size / max(height, width))
    return max(8, int(round(height * scale / 8)) * 8), max(8, int(round(width * scale / 8)) * 8)


class KeypointMatcher(Adapter[FrameKeypoints]):
    """SuperPoint + LightGlue from one LightGlue checkpoint: keypoints per frame, matches per pair.

    Args:
        model: a LightGlue checkpoint (Hub id in the local cache, or a folder).
        max_keypoints: strongest keypoints kept per frame; default the checkpoint's own limit
            when it sets one, else `MAX_KEYPOINTS` on a GPU and `CPU_MAX_KEYPOINTS` on the CPU.
        input_size: longest side (pixels) frames are given to SuperPoint at.
        match_threshold: lowest match confidence kept; default the checkpoint's ``filter_threshold``.
        **kwargs: ``device``, ``dtype``, ``batch_size`` (frames per pass), ``cache_dir``.

    Example:
        >>> matcher = KeypointMatcher("ETH-CVG/lightglue_superpoint")  # doctest: +SKIP
        >>> found = matcher([f.image for f in frames], [(0, 1), (1, 2)])  # doctest: +SKIP
        >>> found.matches[(0, 1)].shape[1]  # doctest: +SKIP
        2
    """

    task = "match"
    model_types = ("lightglue",)
    name = "superpoint+lightglue"

    def __init__(
        self,
        model: str | Path,
        *,
        max_keypoints: int | None = None,
        input_size: int = INPUT_SIZE,
        match_threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.input_size = int(input_size)
        super().__init__(model, **kwargs)
        if not callable(getattr(self.model, "_match_image_pair", None)):
            raise PerceptionError.lightglue_too_old(model)
        if match_threshold is not None:
            self.model.filter_threshold = float(match_threshold)
        own = int(self.model.config.keypoint_detector_config.max_keypoints)
        if max_keypoints is None:
            max_keypoints = own if own > 0 else (CPU_MAX_KEYPOINTS if self.device == "cpu" else MAX_KEYPOINTS)
        self.max_keypoints = int(max_keypoints)
        self.model.keypoint_detector.keypoint_decoder.max_keypoints = self.max_keypoints

    def __call__(self, images: list[np.ndarray], pairs: list[tuple[int, int]]) -> MatchedFeatures:
        """Keypoints of every frame and the matches of each pair (`sfm_matches.Matcher`).

        Args:
            images: frames as H×W×3 uint8 RGB arrays (or ``Frame`` objects).
            pairs: ``(i, j)`` positions in ``images`` to match.

        Returns:
            Keypoints (K_i, 2) float32 in each frame's pixels; per pair an (M, 2) int64 array of
            matched keypoint indices (pairs without matches absent).
        """
        found = self.keypoints(images)
        matched = self.match(found, pairs)
        return MatchedFeatures(
            keypoints=[f.keypoints for f in found],
            matches={pair: m.matches for pair, m in zip(pairs, matched) if len(m.matches)},
        )

    def keypoints(self, images: Sequence[Any]) -> list[FrameKeypoints]:
        """SuperPoint keypoints, scores and descriptors of each frame (batched, on ``self.device``)."""
        return self._run(images)

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoModelForKeypointMatching

        return AutoModelForKeypointMatching.from_pretrained(path, local_files_only=True), None

    def preprocess(self, images: list[np.ndarray], prompts: list[Any], **options: Any) -> dict[str, Any]:
        import cv2
        import torch

        height, width = images[0].shape[:2]
        size = model_input_size(height, width, self.input_size)
        grey = [np.asarray(im, np.float32) @ np.asarray(GREY, np.float32) / 255.0 for im in images]
        if size != (height, width):
            grey = [cv2.resize(g, (size[1], size[0]), interpolation=cv2.INTER_AREA) for g in grey]
        pixels = torch.from_numpy(np.stack(grey))[:, None].expand(-1, 3, -1, -1)
        inputs = self.to_device({"pixel_values": pixels})
        inputs["image_size"], inputs["input_size"] = (height, width), size
        return inputs

    def _forward(self, inputs: dict[str, Any]) -> Any:
        return self.model.keypoint_detector(inputs["pixel_values"])

    def postprocess(self, outputs: Any, inputs: dict[str, Any], **options: Any) -> list[FrameKeypoints]:
        """Keypoints from the model input's relative coordinates to the frame's pixels, padding dropped."""
        (height, width), (in_h, in_w) = inputs["image_size"], inputs["input_size"]
        rel = outputs.keypoints.float().cpu().numpy()
        scale = np.array([width / in_w, height / in_h], np.float32)
        results = []
        for b in range(rel.shape[0]):
            keep = outputs.mask[b].bool().cpu().numpy()
            pixels = (rel[b][keep] * np.array([in_w, in_h], np.float32) + 0.5) * scale - 0.5
            results.append(FrameKeypoints(
                keypoints=pixels.astype(np.float32),
                scores=outputs.scores[b][keep].float().cpu().numpy(),
                descriptors=outputs.descriptors[b][keep].float().cpu().numpy(),
                image_size=(height, width),
            ))
        return results

    def match(self, frames: Sequence[FrameKeypoints], pairs: Sequence[tuple[int, int]]) -> list[PairMatches]:
        """LightGlue matches of each pair of ``frames`` (batches of `PAIR_BATCH` pairs).

        Raises:
            ValueError: a pair of frames of different sizes, or a position outside ``frames``.
        """
        import torch

        for i, j in pairs:
            if not (0 <= i < len(frames) and 0 <= j < len(frames)):
                raise ValueError(f"pair {(i, j)} names a frame outside the {len(frames)} given")
            if frames[i].image_size != frames[j].image_size:
                raise ValueError(f"frames {i} and {j} differ in size: match frames of one size")
        none = PairMatches(np.zeros((0, 2), np.int64), np.zeros(0, np.float32))
        results: dict[tuple[int, int], PairMatches] = {}
        both = [pair for pair in pairs if len(frames[pair[0]]) and len(frames[pair[1]])]  # LightGlue needs keypoints
        with torch.inference_mode():
            for start in range(0, len(both), PAIR_BATCH):
                batch = both[start : start + PAIR_BATCH]
                results.update(zip(batch, self._match_batch(frames, batch)))
        return [results.get(pair, none) for pair in pairs]

    def _match_batch(self, frames: Sequence[FrameKeypoints], pairs: list[tuple[int, int]]) -> list[PairMatches]:
        """One LightGlue pass over ``pairs``: keypoints padded to the batch's most, masked."""
        import torch

        count = max(len(frames[k]) for pair in pairs for k in pair)
        dim = frames[pairs[0][0]].descriptors.shape[1]
        keypoints = np.zeros((len(pairs), 2, count, 2), np.float32)
        descriptors = np.zeros((len(pairs), 2, count, dim), np.float32)
        mask = np.zeros((len(pairs), 2, count), np.int64)
        for b, pair in enumerate(pairs):
            for side, k in enumerate(pair):
                n = len(frames[k])
                keypoints[b, side, :n], descriptors[b, side, :n], mask[b, side, :n] = frames[k].keypoints, frames[k].descriptors, 1
        height, width = frames[pairs[0][0]].image_size
        tensors = self.to_device({"keypoints": torch.from_numpy(keypoints), "descriptors": torch.from_numpy(descriptors)})
        matches, scores = self.model._match_image_pair(
            tensors["keypoints"], tensors["descriptors"], height, width, mask=torch.from_numpy(mask).to(self.device)
        )[:2]
        matches, scores = matches.cpu().numpy(), scores.float().cpu().numpy()
        results = []
        for b, (i, _) in enumerate(pairs):
            first = np.flatnonzero((matches[b, 0] >= 0) & (np.arange(count) < len(frames[i])))
            rows = np.stack([first, matches[b, 0, first]], axis=1).astype(np.int64)
            results.append(PairMatches(rows, scores[b, 0, first].astype(np.float32)))
        return results


__all__ = ["FrameKeypoints", "KeypointMatcher", "PairMatches", "model_input_size"]
