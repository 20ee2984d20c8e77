"""The host's ``host_call("perception")`` handler: a kernel's request checked, completed with
the session's own inputs, and passed to the service.

The kernel names only a family, its backend, frame positions and a query
(`protocol.kernel_request` refuses anything else); the host adds the frames file and the
input's source, which the kernel cannot choose. The reply to the kernel is
``{"key": K}`` (the shared cache entry that holds the result), ``{"perception_error": text}``
(the backend cannot serve these frames, or the service is still computing past the cell's time
limit: the cell does not compute it a second time) or ``{"unavailable": text}`` (the kernel then
computes the result itself).
"""

from __future__ import annotations

from typing import Any

from spatialclaw.perception_service import protocol
from spatialclaw.perception_service.client import ServiceClient, ServiceTimeout, ServiceUnavailable

NO_FRAMES_TEXT = "this session has no input frames to perceive"
TIMEOUT_TEXT = (
    "the perception service is still computing this {family} after {seconds:g} s; ask again in a later cell "
    "(the result is kept when it is done) or use fewer frames"
)


def relay(service: ServiceClient, payload: Any, frame_count: int, inputs: dict[str, Any],
          timeout_s: float | None = None) -> dict[str, str]:
    """The kernel's reply for one perception request.

    Args:
        service: the service to ask.
        payload: what the kernel sent (untrusted).
        frame_count: frames in the session's frames file (the host's count, not the kernel's).
        inputs: ``frames_file``, ``source_kind``, ``source_path``, ``source_files`` of the session.
        timeout_s: how long the service may take.

    Raises:
        protocol.Refused: the request is malformed (the cell gets the reason as an error).
    """
    request = protocol.kernel_request(payload, frame_count)
    if not inputs.get("frames_file"):
        raise protocol.Refused(NO_FRAMES_TEXT)
    family = request.pop("family")
    try:
        reply = service.request(protocol.FAMILY_METHODS[family], {**request, **inputs}, timeout_s)
    except ServiceTimeout:
        return {"perception_error": TIMEOUT_TEXT.format(family=family, seconds=timeout_s or service.timeout_s)}
    except ServiceUnavailable as err:
        return {"unavailable": str(err)}
    if reply.get("ok") is True and isinstance(reply.get("result"), dict) and isinstance(reply["result"].get("key"), str):
        return {"key": reply["result"]["key"]}
    error = str(reply.get("error") or "no reason given")[:2000]
    if reply.get("kind") == "perception":
        return {"perception_error": error}
    return {"unavailable": f"the perception service answered: {error}"}
