"""The contract every perception backend keeps: `PerceptionBackend`.

A backend serves some of the perception *families*:

- ``reconstruction``: ``reconstruct(frames, context) -> Reconstruction``;
- ``segmentation``: ``segment(query, frames, context) -> Masks``;
- ``tracking``: ``track(query, frames, context) -> Masks`` whose ``instance_ids`` are identities
  kept across frames (one id = one physical object followed through the frames).

``available(family, context)`` says, before anything heavy runs, whether the backend can serve a
family for this input (None) or why not (one line). Results are relative to the ``frames`` passed
in: entry ``i`` of a Reconstruction and ``frame_ids == i`` of Masks refer to ``frames[i]``; the
primitives map them to positions in the kernel's ``frames``. Reconstructions are in the world
frame of design.md: metric, +z up, floor at z = 0.

``identities`` says what ``instance_ids`` of its masks mean: ``"exact"`` (ground truth: one id is
one object), ``"tracked"`` (a video tracker's ids, to be checked in 3D: `objects3d` fuses the
``track`` masks) or ``"none"`` (per-frame masks, ids -1: `objects3d` clusters them in 3D).

`BackendBase` gives the refusals for families a backend does not serve, so a backend class
defines only what it does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

from spatialclaw.errors import PerceptionError

if TYPE_CHECKING:
    from spatialclaw.inputs.frame import Frame
    from spatialclaw.primitives.context import KernelContext
    from spatialclaw.primitives.types import Masks, Reconstruction

Family = Literal["reconstruction", "segmentation", "tracking"]
ALL_FAMILIES: tuple[Family, ...] = ("reconstruction", "segmentation", "tracking")
Identities = Literal["exact", "tracked", "none"]

MIN_FRAMES = 4
"""Fewest frames of a moving camera that reconstruction from camera motion (the classical
backend's structure-from-motion) is attempted on."""


@runtime_checkable
class PerceptionBackend(Protocol):
    """What the primitives call on a backend (see the module docstring for the families)."""

    name: str
    families: tuple[Family, ...]
    identities: Identities

    def available(self, family: str, context: KernelContext) -> str | None:
        """None when ``family`` can be served for this input, else why not (one line)."""
        ...

    def checkpoints(self, family: str, context: KernelContext) -> dict[str, str]:
        """The model checkpoints ``family`` uses here, by task (``{}`` for a backend without weights)."""
        ...

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        """Metric depth, camera-to-world poses and intrinsics of ``frames``."""
        ...

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        """Instance masks of the objects ``query`` names, per frame."""
        ...

    def track(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        """Masks of the objects ``query`` names with identities across ``frames`` (``instance_ids``)."""
        ...


class BackendBase:
    """Refusals for the families a backend does not serve; subclasses set ``name`` and ``families``."""

    name: ClassVar[str] = ""
    families: ClassVar[tuple[Family, ...]] = ()
    identities: ClassVar[Identities] = "none"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(families={list(self.families)})"

    def not_served(self, family: str) -> str:
        """The one-line reason for a family this backend does not serve."""
        return f"the {self.name} backend has no {family}"

    def available(self, family: str, context: KernelContext) -> str | None:
        return None if family in self.families else self.not_served(family)

    def checkpoints(self, family: str, context: KernelContext) -> dict[str, str]:
        return {}

    def reconstruct(self, frames: list[Frame], context: KernelContext) -> Reconstruction:
        raise PerceptionError(self.not_served("reconstruction"))

    def segment(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        raise PerceptionError(self.not_served("segmentation"))

    def track(self, query: str, frames: list[Frame], context: KernelContext) -> Masks:
        raise PerceptionError(self.not_served("tracking"))
