"""Adapters for learned models from transformers, one file per task.

- ``depth.py``: metric monocular depth (Depth Anything V2 metric; DPT-family checkpoints load too).
- ``detect.py``: open-vocabulary detection (Grounding DINO, OWLv2).
- ``segmentation.py``: box-prompted segmentation (SAM, SAM 2).
- ``matching.py``: SuperPoint keypoints and LightGlue matches, the features of the classical
  structure-from-motion when that checkpoint is on disk.
- ``loading.py``: :func:`load_adapter` (the adapter for a checkpoint's ``config.json``) and
  :func:`segment_with_text` (a detector then a segmenter).
- ``pool.py``: `ModelPool`, each checkpoint loaded once per process.
- ``backend.py``: `LearnedBackend`, the `PerceptionBackend` the primitives call.
- ``reconstruction.py``: classical camera poses with the learned depth.

Weights are found offline only (a local folder or the Hugging Face cache); a missing model raises
:class:`spatialclaw.errors.PerceptionError`. No module of this package imports the package
itself, so there is no import cycle.
"""

from __future__ import annotations

from .backend import LearnedBackend
from .base import (
    ADAPTERS,
    KNOWN_MODELS,
    TASK_WORDS,
    Adapter,
    Detections,
    Task,
    find_default_model,
    find_weights,
    missing_weights_message,
    read_model_type,
    require_weights,
)
from .depth import DepthEstimator
from .detect import Detector, GroundingDinoDetector, Owlv2Detector, parse_query
from .loading import load_adapter, segment_with_text
from .matching import KeypointMatcher
from .pool import ModelPool
from .segmentation import Sam2Segmenter, SamSegmenter, Segmenter

__all__ = [
    "ADAPTERS",
    "KNOWN_MODELS",
    "TASK_WORDS",
    "Adapter",
    "DepthEstimator",
    "Detections",
    "Detector",
    "GroundingDinoDetector",
    "KeypointMatcher",
    "LearnedBackend",
    "ModelPool",
    "Owlv2Detector",
    "Sam2Segmenter",
    "SamSegmenter",
    "Segmenter",
    "Task",
    "find_default_model",
    "find_weights",
    "load_adapter",
    "missing_weights_message",
    "parse_query",
    "read_model_type",
    "require_weights",
    "segment_with_text",
]
