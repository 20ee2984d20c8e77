"""The learned models a process has loaded: each checkpoint loaded once, loads counted.

A kernel keeps one `ModelPool` in ``context.loaded["learned"]``; the perception service keeps one
for every kernel it serves. ``loads`` counts how many times each checkpoint was loaded (the
service's promise is one load per checkpoint), ``served`` says which checkpoint served each task.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import KNOWN_MODELS, TASK_WORDS, Adapter, Task, find_default_model, find_weights
from .loading import adapter_class

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext


class ModelPool:
    """Adapters by (adapter class, checkpoint, device, dtype), loaded on first use and kept.

    One checkpoint that serves two tasks through one adapter class (SAM 3 video: segmentation
    and tracking) is loaded once. Thread-safe: two threads asking for the same adapter get one load.
    """

    def __init__(self) -> None:
        self._adapters: dict[tuple[type, str, str | None, str | None], Adapter[Any]] = {}
        self._lock = threading.Lock()
        self.loads: dict[str, int] = {}
        self.served: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"ModelPool({len(self._adapters)} loaded: {sorted(self.served.items())})"

    def adapter(
        self, task: Task, model: str | Path, *, device: str | None = None, dtype: str | None = None, **options: Any
    ) -> Adapter[Any]:
        """The adapter for ``task`` from checkpoint ``model`` (a Hub id or a folder), loaded once.

        Raises:
            PerceptionError: the checkpoint is not on disk or is not a ``task`` model.
        """
        with self._lock:
            cls = adapter_class(task, model)
            key = (cls, str(model), device, dtype)
            if key not in self._adapters:
                self._adapters[key] = cls(model, device=device, dtype=dtype, **options)
                self.loads[str(model)] = self.loads.get(str(model), 0) + 1
            self.served[task] = str(model)
            return self._adapters[key]


def pool_of(context: KernelContext) -> ModelPool:
    """The kernel's model pool (made on first use, kept in ``context.loaded["learned"]``)."""
    return context.loaded.setdefault("learned", ModelPool())


def chosen_model(task: Task, context: KernelContext) -> str | None:
    """The checkpoint for ``task``: ``context.options[f"{task}_model"]`` when found, else a known one on disk."""
    named = context.options.get(f"{task}_model")
    if named:
        return str(named) if find_weights(str(named)) is not None else None
    return find_default_model(task)


def adapter_for(task: Task, context: KernelContext, **options: Any) -> Adapter[Any]:
    """The loaded adapter for ``task`` under this context's options (``device``, ``dtype``).

    Raises:
        PerceptionError: no weights found for the task.
    """
    model = context.options.get(f"{task}_model") or find_default_model(task) or KNOWN_MODELS[task][0]
    device, dtype = context.options.get("device"), context.options.get("dtype")
    return pool_of(context).adapter(task, model, device=device, dtype=dtype, **options)


def missing_models(tasks: tuple[Task, ...], context: KernelContext) -> str | None:
    """None when torch, transformers and a checkpoint for each of ``tasks`` are here, else why not."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        return "the learned backend needs torch and transformers: pip install 'spatialclaw[learned]'"
    for task in tasks:
        if chosen_model(task, context) is None:
            wanted = context.options.get(f"{task}_model") or KNOWN_MODELS[task][0]
            return f"no {TASK_WORDS[task]} weights found offline (e.g. `spatialclaw models pull {wanted}`)"
    return None
