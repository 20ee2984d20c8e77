"""A local VLM in this process through transformers: ``--model hf:PATH_OR_ID``.

For users with weights on disk (or in the Hugging Face cache) and no server: image-text-to-text
models whose processor has a chat template with image parts, e.g. Qwen2.5-VL and the
SmolVLM / Idefics3 family. Loaded with ``AutoProcessor`` + ``AutoModelForImageTextToText``;
replies are greedy. torch and transformers are imported when the client is made, not before.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from spatialclaw.errors import ModelError, missing_extra
from spatialclaw.models.base import Completion, Image, Message, Usage

# Processors that want one list of images per prompt (``images=[[...]]``); the others take a flat list.
DEFAULT_MAX_NEW_TOKENS = 1024
_NESTED_IMAGE_TYPES = ("idefics2", "idefics3", "smolvlm")


class HFLocalClient:
    """Chat with a local transformers model.

    Args:
        path_or_id: a checkpoint folder, or a model id already in the local Hugging Face cache.
        device: ``"cuda"``, ``"cpu"``, ...; the first GPU if there is one, else the CPU, when None.
        max_new_tokens: default reply length cap, tokens; None takes the checkpoint's
            ``generation_config.max_new_tokens``, else `DEFAULT_MAX_NEW_TOKENS`.
        name: what trajectories call the model (default ``path_or_id``), e.g. the hub id of a cached folder.
    """

    def __init__(
        self, path_or_id: str, *, device: str | None = None, max_new_tokens: int | None = None, name: str | None = None
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as err:
            raise missing_extra(err, f"--model hf:{path_or_id} (a model run in this process)") or err from None

        self.model = f"hf:{name or path_or_id}"
        self.path_or_id = path_or_id
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        half = {"cuda": torch.bfloat16, "mps": torch.float16}  # a 7 B model in float32 outgrows most GPUs
        dtype = half.get(self.device.split(":")[0], torch.float32)
        try:
            self._processor = AutoProcessor.from_pretrained(path_or_id)
            self._model = AutoModelForImageTextToText.from_pretrained(path_or_id, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as err:
            raise ModelError.local_model(path_or_id, Path(path_or_id).exists(), str(err)) from None
        self._model_type = str(getattr(self._model.config, "model_type", ""))
        own_cap = getattr(self._model.generation_config, "max_new_tokens", None)
        self.max_new_tokens = int(max_new_tokens or own_cap or DEFAULT_MAX_NEW_TOKENS)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Drop the weights (and the GPU memory they held); the client cannot answer afterwards."""
        with self._lock:
            self._model = None
            self._processor = None
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def describe(self) -> dict:
        """What a trajectory records about this client."""
        return {"backend": "transformers", "model": self.model, "device": self.device, "model_type": self._model_type}

    def _inputs(self, messages: list[Message]) -> Any:
        conversation, images = [], []
        for msg in messages:
            parts: list[dict[str, Any]] = []
            for part in msg.content:
                if isinstance(part, Image):
                    parts.append({"type": "image"})
                    images.append(part.to_pil())
                else:
                    parts.append({"type": "text", "text": part})
            conversation.append({"role": msg.role, "content": parts})
        prompt = self._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        batch_images: Any = None
        if images:
            batch_images = [images] if self._model_type in _NESTED_IMAGE_TYPES else images
        return self._processor(text=[prompt], images=batch_images, return_tensors="pt").to(self.device)

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion:
        """Greedy reply to ``messages``; usage counts prompt and generated tokens."""
        import torch

        start = time.perf_counter()
        with self._lock, torch.inference_mode():
            if self._model is None:
                raise ModelError.closed(self.model)
            inputs = self._inputs(messages)
            prompt_len = int(inputs["input_ids"].shape[1])
            output = self._model.generate(
                **inputs, max_new_tokens=max_tokens or self.max_new_tokens, do_sample=False
            )
        new_tokens = output[0, prompt_len:]
        text = self._processor.decode(new_tokens, skip_special_tokens=True)
        eos = self._model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        stopped = len(new_tokens) > 0 and int(new_tokens[-1]) in eos_ids
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=prompt_len, completion_tokens=int(len(new_tokens)), requests=1),
            duration_s=time.perf_counter() - start,
            request_bytes=0,
            attempts=1,
            finish_reason="stop" if stopped else "length",
        )
