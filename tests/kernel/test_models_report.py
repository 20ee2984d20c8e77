"""The kernel's report of the learned checkpoints that served is untrusted: only well-formed parts are kept."""

from __future__ import annotations

import json

from spatialclaw.kernel.session import MAX_MODELS_REPORT, KernelSession


def _session() -> KernelSession:
    session = KernelSession.__new__(KernelSession)  # no kernel: only the report parsing is under test
    session.perception_info = {"backends": {"segmentation": {"backend": "learned"}}}
    return session


def _report(perception: object) -> dict:
    return {"data": {"text/plain": repr(json.dumps({"frames": 3, "perception": perception}))}}


def test_models_and_loads_are_merged_into_perception_info_in_place() -> None:
    session = _session()
    info = session.perception_info
    session._note_models(_report({"models": {"segmentation": {"text_segment": "facebook/sam3"}},
                                  "model_loads": {"facebook/sam3": 1}, "backends": "overwritten?"}))
    assert info is session.perception_info  # the trajectory record holds the same dict
    assert info["models"] == {"segmentation": {"text_segment": "facebook/sam3"}}
    assert info["model_loads"] == {"facebook/sam3": 1}
    assert info["backends"] == {"segmentation": {"backend": "learned"}}  # only models and loads are taken


def test_malformed_or_oversized_reports_are_ignored() -> None:
    session = _session()
    for bad in (None, {"data": {}}, {"data": {"text/plain": "not a literal"}}, _report("text"),
                _report({"models": {"segmentation": ["facebook/sam3"]}, "model_loads": {"x": -1}}),
                _report({"models": {"f": {"t": "m" * MAX_MODELS_REPORT}}, "model_loads": {"y": "1"}})):
        session._note_models(bad)
    assert "models" not in session.perception_info and "model_loads" not in session.perception_info
