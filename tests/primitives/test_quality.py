"""ReconstructionQuality: validation, ok, the one- or two-line summary, the cache round trip."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives.quality import ReconstructionQuality, horizontal_fov_deg
from spatialclaw.primitives.types import NO_QUALITY_REPORT, Reconstruction


def _recon(quality: ReconstructionQuality | None, n: int = 3) -> Reconstruction:
    K = np.tile(np.array([[100.0, 0, 16], [0, 100.0, 12], [0, 0, 1]]), (n, 1, 1))
    return Reconstruction(np.ones((n, 24, 32), np.float32), np.tile(np.eye(4), (n, 1, 1)), K, quality=quality)


def test_ok_means_no_warnings():
    assert ReconstructionQuality(5, 5, "gt").ok
    bad = ReconstructionQuality(3, 5, "unknown", warnings=["only 3 of 5 frames were registered"])
    assert not bad.ok


@pytest.mark.parametrize(
    "kwargs",
    [
        {"registered": 6, "total": 5, "scale_source": "gt"},
        {"registered": 5, "total": 5, "scale_source": "guess"},
        {"registered": 5, "total": 5, "scale_source": "gt", "warnings": "one string"},
        {"registered": 5, "total": 5, "scale_source": "gt", "warnings": [""]},
        {"registered": 5, "total": 5, "scale_source": "gt", "reprojection_px": "big"},
    ],
)
def test_bad_records_are_refused(kwargs):
    with pytest.raises(ValueError, match="ReconstructionQuality"):
        ReconstructionQuality(**kwargs)


def test_print_shows_the_quality_in_one_or_two_lines():
    good = _recon(ReconstructionQuality(3, 3, "floor+camera-height", reprojection_px=0.4, fov_deg=62, path_m=4.2))
    assert repr(good).count("\n") == 0
    assert "quality: ok" in repr(good) and "3/3 frames registered" in repr(good) and "4.20 m" in repr(good)
    warned = _recon(ReconstructionQuality(2, 3, "unknown", warnings=["a", "b"], path_m=7.0))
    lines = repr(warned).splitlines()
    assert len(lines) == 2 and "NOT ok (2 warnings)" in lines[0] and "7.00 units" in lines[0]
    assert lines[1] == "warnings: a | b"


def test_a_reconstruction_built_by_hand_says_it_was_not_checked():
    r = _recon(None)
    assert not r.quality.ok and r.quality.warnings == [NO_QUALITY_REPORT] and r.quality.scale_source == "unknown"
    with pytest.raises(ValueError, match="quality describes 5 frames"):
        _recon(ReconstructionQuality(5, 5, "gt"))


def test_dict_round_trip_keeps_everything():
    q = ReconstructionQuality(7, 9, "metric-depth", warnings=["w"], reprojection_px=0.8, points=1200, focal_px=277.0,
                              fov_deg=60.0, path_m=3.5, floor_confidence=0.9)
    back = ReconstructionQuality.from_dict(q.to_dict())
    assert back.to_dict() == q.to_dict() and not back.ok


def test_field_of_view():
    assert horizontal_fov_deg(160.0, 320) == pytest.approx(90.0)
    assert horizontal_fov_deg(3469.0, 320) == pytest.approx(5.28, abs=0.01)
