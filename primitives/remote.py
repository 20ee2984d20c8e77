"""Asking the host's perception service for a result instead of computing it in the kernel.

Where the host runs a perception service (``context.perception_service``), a cache miss of a
family the service computes (learned models, classical poses) becomes
``host_call("perception", {"family", "backend", "positions", "query"})``: the host checks the
request and relays it; the service reads the frames itself, computes (each model loaded once
for every kernel on the machine), writes the result into the shared cache, which the kernel
reads read-only, and the reply names its key. No array crosses the channel.

The kernel asks only with the host's settings (``context.options`` empty): a cell that changed
the options computes in the kernel. When the service cannot answer, the kernel computes the
result itself, says so once in the cell's output, and the result stays in its session layer
(never shared with later sessions).
"""

from __future__ import annotations

from typing import Any, Callable

from spatialclaw.errors import SERVICE_FALLBACK_TEXT, PerceptionError
from spatialclaw.primitives.context import KernelContext

SERVED = frozenset({("reconstruction", "learned"), ("reconstruction", "classical"),
                    ("segmentation", "learned"), ("tracking", "learned")})


def service_call(
    context: KernelContext, family: str, backend: str, positions: list[int], query: str | None
) -> Callable[[], str | None] | None:
    """A function that asks the service for this result and returns the shared cache key it was
    stored under (None: compute here); None when the service is not asked at all."""
    if not context.perception_service or context.host_call is None or context.options or (family, backend) not in SERVED:
        return None
    payload: dict[str, Any] = {"family": family, "backend": backend, "positions": [int(p) for p in positions]}
    if query is not None:
        payload["query"] = query

    def ask() -> str | None:
        try:
            reply = context.host_call("perception", payload)
        except RuntimeError as err:
            return _fall_back(context, family, str(err))
        if not isinstance(reply, dict):
            return _fall_back(context, family, "a malformed reply")
        if isinstance(reply.get("perception_error"), str):
            raise PerceptionError(reply["perception_error"])
        if isinstance(reply.get("key"), str):
            return reply["key"]
        return _fall_back(context, family, str(reply.get("unavailable") or "no key in the reply"))

    return ask


def _fall_back(context: KernelContext, family: str, why: str) -> None:
    """Say once per kernel and family that the service did not answer; the kernel computes."""
    said = context.loaded.setdefault("service_fallbacks", set())
    if family not in said:
        said.add(family)
        print(SERVICE_FALLBACK_TEXT.format(why=" ".join(why.split())[:300], family=family))
    return None
