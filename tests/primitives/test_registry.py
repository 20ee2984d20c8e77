"""The @primitive registry: import-time checks, install(), and the golden prompt section."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import spatialclaw.primitives as primitives
from spatialclaw.primitives import context, registry
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.registry import PrimitiveDefinitionError, primitive, render_prompt_section

GOLDEN = Path(__file__).parents[1] / "golden" / "prompt_primitives.md"
REGEN = "SPATIALCLAW_REGEN_GOLDEN"


@pytest.fixture(autouse=True)
def _isolated_registry():
    """Primitives defined by a test leave the registry (and the context) as they found them."""
    primitives.load_all()
    saved, saved_context = dict(registry._REGISTRY), context._current
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    context._current = saved_context


def test_a_primitive_without_a_docstring_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match="no docstring"):

        @primitive(group="geometry")
        def nodoc(x: int) -> int:
            return x


def test_a_parameter_without_a_type_hint_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match="'x' has no type hint"):

        @primitive(group="geometry")
        def nohint(x) -> int:
            """Do it.

            Args:
                x: a thing.
            """
            return x


def test_a_missing_return_hint_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match="no return type hint"):

        @primitive(group="geometry")
        def noreturn(x: int):
            """Do it.

            Args:
                x: a thing.
            """
            return x


def test_an_undocumented_parameter_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match=r"does not describe \['y'\]"):

        @primitive(group="geometry")
        def halfdoc(x: int, y: int) -> int:
            """Do it.

            Args:
                x: a thing.
            """
            return x + y


def test_an_unknown_group_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match="unknown primitive group"):
        primitive(group="nonsense")


def test_a_well_formed_primitive_is_rendered_in_its_group():
    @primitive(group="drawing")
    def scale_bar(length: float = 1.0) -> str:
        """A scale bar.

        Args:
            length: metres.
        """
        return "-" * int(length)

    section = render_prompt_section([p for p in registry.registered() if p.name == "scale_bar"])
    assert "# --- drawing ---" in section
    assert "def scale_bar(length: float = 1.0) -> str:" in section
    assert "length: metres." in section


def test_install_puts_every_primitive_into_the_namespace_and_records_backends():
    namespace: dict = {}
    info = primitives.install(namespace, KernelContext(frames=[]))
    expected = {"reconstruct", "segment", "objects3d", "distance", "ground_plane", "camera_motion",
                "relative_direction", "room_size", "top_down_map", "point_cloud_image", "ask_vlm", "locate"}
    assert expected <= set(namespace)
    assert set(info["primitives"]) == {p.name for p in registry.registered()}
    assert set(info["backends"]) == {"reconstruction", "segmentation"}
    assert all("backend" in c and "reason" in c for c in info["backends"].values())
    assert info["backends"]["reconstruction"]["backend"] != "gt"  # no RGB-D input


def test_prompt_section_matches_the_golden_file():
    """The prompt text is generated from the code; a change must be reviewed and the golden regenerated.

    Regenerate with ``SPATIALCLAW_REGEN_GOLDEN=1 python -m pytest tests/test_registry.py``.
    """
    rendered = render_prompt_section()
    if os.environ.get(REGEN):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(rendered + "\n")
    assert GOLDEN.is_file(), f"missing {GOLDEN}: run with {REGEN}=1 once"
    assert rendered + "\n" == GOLDEN.read_text(), f"the primitives' prompt text changed: review it, then rerun with {REGEN}=1"


def test_auto_on_a_video_falls_back_from_gt_and_says_why():
    import numpy as np

    from spatialclaw.inputs.frame import Frame

    frames = [Frame(i, i / 30, np.zeros((24, 32, 3), np.uint8)) for i in range(6)]
    info = primitives.install({}, KernelContext(frames=frames, source_kind="video", perception="auto"))
    recon = info["backends"]["reconstruction"]
    assert recon["backend"] in ("learned", "classical")
    assert "gt needs an RGB-D folder" in recon["reason"]
    assert context.current().backends["reconstruction"] == recon["backend"]
    seg = info["backends"]["segmentation"]
    assert seg["backend"] == "none" or seg["backend"] == "learned"  # no VLM to point with: classical cannot segment
    assert "no host handlers" in seg["reason"] or seg["backend"] == "learned"
