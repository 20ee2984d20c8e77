"""SAM 3 video: text-prompted segmentation and tracking through a sequence of frames.

``Sam3VideoModel`` detects every instance of each text prompt and follows it through the frames
with its memory tracker, so one physical object keeps one object id over the whole sequence
(re-detections are associated with existing tracks; new objects get new ids). `Sam3Video`
loads the ``facebook/sam3`` checkpoint once and serves both tasks: ``track`` returns one `Masks`
over all frames whose ``instance_ids`` are those ids; calling it segments each frame on its own
with the detector half (as `Sam3Segmenter`).

The video processor needs torchvision, so the inference session is built here from frames
prepared as for `Sam3Segmenter` and the tokenised prompts; low-resolution masks are upsampled to
the frames' size and thresholded at logit 0, and boxes are the masks' tight boxes. Objects the
model suppressed or removed during its hot start are left out, as its own post-processing does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spatialclaw.primitives.types import Masks

from .base import as_rgb, quiet_transformers
from .detect import parse_query
from .sam3 import Sam3Segmenter, read_normalisation, square_pixels, tokenize, upsample_masks


class Sam3Video(Sam3Segmenter):
    """SAM 3 video (``facebook/sam3``): per-frame instance masks, and masks tracked across frames.

    Example:
        >>> sam3 = Sam3Video("facebook/sam3")  # doctest: +SKIP
        >>> tracks = sam3.track([f.image for f in frames], "chair")  # doctest: +SKIP
        >>> sorted(set(tracks.instance_ids.tolist()))  # one id per chair  # doctest: +SKIP
        [0, 1]
    """

    task = "text_segment"
    extra_tasks = ("track",)
    model_types = ("sam3_video",)

    @property
    def detector(self) -> Any:
        """The video model's ``Sam3Model`` half, which finds the instances of each frame."""
        return self.model.detector_model

    def track(self, images: list[Any], query: str | list[str]) -> Masks:
        """Masks of the query's objects in every frame, with one id per object over all frames.

        Args:
            images: frames of one video, in time order, as same-sized H×W×3 uint8 RGB arrays.
            query: ``"chair"``, ``"chair, table"`` or ``["chair", "table"]``.

        Returns:
            One `Masks`: (N, H, W) bool masks, pixel boxes, the model's object scores, the phrase
            of each object as its label, ``frame_ids`` positions in ``images`` and
            ``instance_ids`` the object ids (the same id in every frame an object is seen).

        Raises:
            ValueError: no frames, or frames of different sizes.
        """
        import torch

        frames = [as_rgb(image) for image in images]
        if not frames or len({f.shape for f in frames}) != 1:
            raise ValueError("tracking needs the frames of one video: a non-empty list of frames of one size")
        inputs = self._start_session(frames, parse_query(query))
        with torch.inference_mode(), quiet_transformers():
            return self._collect(self._propagate(inputs), inputs)

    def _load(self, path: Path) -> tuple[Any, Any]:
        from transformers import AutoTokenizer, Sam3VideoModel

        model = Sam3VideoModel.from_pretrained(path, local_files_only=True)
        return model, {"tokenizer": AutoTokenizer.from_pretrained(path, local_files_only=True),
                       **read_normalisation(path)}

    def _start_session(self, images: list[np.ndarray], phrases: list[str]) -> dict[str, Any]:
        """A fresh inference session over all frames, with one text prompt per phrase."""
        from transformers.models.sam3_video.modeling_sam3_video import Sam3VideoInferenceSession

        height, width = images[0].shape[:2]
        session = Sam3VideoInferenceSession(
            video=square_pixels(images, self.input_side, self.processor),
            video_height=height,
            video_width=width,
            inference_device=self.device,
            inference_state_device=self.device,
            video_storage_device=self.device,
            dtype=self.dtype,
        )
        ids, attention = tokenize(self.processor["tokenizer"], phrases)
        for k, phrase in enumerate(phrases):
            prompt_id = session.add_prompt(phrase)
            session.prompt_input_ids[prompt_id] = ids[k : k + 1].to(self.device)
            session.prompt_attention_masks[prompt_id] = attention[k : k + 1].to(self.device)
        return {"session": session, "image_size": (height, width)}

    def _propagate(self, inputs: dict[str, Any]) -> list[Any]:
        """Propagate the prompts through every frame: one output per frame, in frame order."""
        outputs = list(self.model.propagate_in_video_iterator(inputs["session"]))
        return sorted(outputs, key=lambda out: out.frame_idx)

    def _collect(self, outputs: list[Any], inputs: dict[str, Any]) -> Masks:
        """Each frame's visible objects as masks at the frames' size, labelled with their prompt."""
        import torch

        session, size = inputs["session"], inputs["image_size"]
        hidden = set(session.hotstart_removed_obj_ids)
        parts = []
        for out in outputs:
            hidden_now = hidden | set(out.suppressed_obj_ids or ())
            ids = [i for i in sorted(out.obj_id_to_mask) if i not in hidden_now]
            logits = [out.obj_id_to_mask[i].reshape(-1, *out.obj_id_to_mask[i].shape[-2:])[0].float().cpu() for i in ids]
            masks = upsample_masks(torch.stack(logits) if ids else torch.zeros(0, 1, 1), size)
            seen = masks.any(axis=(1, 2))
            kept = [i for i, s in zip(ids, seen) if s]
            labels = [session.prompts[session.obj_id_to_prompt_id[i]] for i in kept]
            scores = [float(out.obj_id_to_score.get(i, 0.0)) for i in kept]
            found = Masks.from_masks(masks[seen], labels, [out.frame_idx] * len(kept), np.array(scores, np.float32),
                                     np.array(kept, np.int64))
            parts.append(found)
        return Masks.concat(parts, *size)
