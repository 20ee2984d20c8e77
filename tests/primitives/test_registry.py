"""The @primitive registry: import-time checks, install(), and the golden prompt section."""

from __future__ import annotations

import inspect
import pydoc
import traceback

import numpy as np
import pytest
from golden_files import check_golden

import spatialclaw.primitives as primitives
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import registry
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.registry import PrimitiveDefinitionError, primitive, render_prompt_section



@pytest.fixture(autouse=True)
def _isolated_registry():
    """Primitives defined by a test leave the registry as they found it."""
    primitives.load_all()
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


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
    """The prompt text is generated from the code; a change must be reviewed and the golden
    regenerated (see `golden_files`)."""
    check_golden("prompt_primitives.md", render_prompt_section() + "\n")


def test_auto_on_a_video_falls_back_from_gt_and_says_why():
    import numpy as np

    from spatialclaw.inputs.frame import Frame

    frames = [Frame(i, i / 30, np.zeros((24, 32, 3), np.uint8)) for i in range(6)]
    context = KernelContext(frames=frames, source_kind="video", perception="auto")
    info = primitives.install({}, context)
    recon = info["backends"]["reconstruction"]
    assert recon["backend"] in ("learned", "classical")
    assert "gt needs an RGB-D folder" in recon["reason"]
    assert context.backends["reconstruction"] == recon["backend"]
    seg = info["backends"]["segmentation"]
    assert seg["backend"] == "none" or seg["backend"] == "learned"  # no VLM to point with: classical cannot segment
    assert "no host handlers" in seg["reason"] or seg["backend"] == "learned"


def test_an_args_entry_for_a_parameter_that_does_not_exist_is_refused():
    with pytest.raises(PrimitiveDefinitionError, match=r"Args: describes \['radius'\], which it has no parameter for"):

        @primitive(group="geometry")
        def stale(x: int) -> int:
            """Do it.

            Args:
                x: a thing.
                radius: metres (the parameter was removed).
            """
            return x


def test_continuation_lines_are_not_parameters_and_string_defaults_keep_their_quotes():
    @primitive(group="drawing")
    def label(text: str, *, colour: str = "red") -> str:
        """A label.

        Args:
            text: the words.
            colour: a colour name, e.g.
                note: this line continues the entry above.
        """
        return text

    entry = next(p for p in registry.registered() if p.name == "label")
    assert entry.signature == "(text: str, *, colour: str = 'red') -> str"


def test_show_and_answer_are_registered_primitives():
    names = [p.name for p in registry.registered()]
    assert names[:2] == ["show", "answer"]
    assert "def show(*items: Any, caption: str | None = None) -> None:" in render_prompt_section()


# -- the kernel context, bound per kernel -----------------------------------------------------

def _frames(n: int, seconds_apart: float, height: int = 6, width: int = 8) -> list[Frame]:
    return [Frame(i, i * seconds_apart, np.full((height, width, 3), 10 * i, np.uint8)) for i in range(n)]


def _host(name: str, asked: list[str]):
    """A host that notes who asked and answers ``locate`` with a point far outside any image."""
    return lambda method, payload: asked.append(name) or ([1000.0, 1000.0] if method == "locate" else f"from {name}")


def test_two_kernels_in_one_process_each_see_their_own_frames_and_host():
    asked: list[str] = []
    a, b = {}, {}
    primitives.install(a, KernelContext(frames=_frames(3, 1.0), host_call=_host("a", asked)))
    primitives.install(b, KernelContext(frames=_frames(5, 0.5, 12, 16), host_call=_host("b", asked)))
    assert a["frame_at"](10.0) == 2 and b["frame_at"](10.0) == 4  # the kernel installed first still has its own
    assert a["frame_at"](1.2) == 1 and b["frame_at"](1.2) == 2
    assert a["ask_vlm"]("which?") == "from a" and b["ask_vlm"]("which?") == "from b"
    assert a["locate"]("the chair", 2) == (7.0, 5.0) and b["locate"]("the chair", 2) == (15.0, 11.0)  # clamped to its frame
    assert asked == ["a", "b", "a", "b"]


def test_a_bound_primitive_shows_the_model_its_signature_without_the_context():
    namespace: dict = {}
    primitives.install(namespace, KernelContext(frames=_frames(2, 1.0)))
    segment = namespace["segment"]
    entry = next(p for p in registry.registered() if p.name == "segment")
    assert entry.needs_context and "context" in inspect.signature(entry.func).parameters
    assert list(inspect.signature(segment).parameters) == ["query", "frames"]
    assert registry.format_signature(segment) == entry.signature == "(query: str, frames: list[Frame] | list[int] | None = None) -> Masks"
    assert segment.__name__ == "segment" and segment.__doc__ == entry.func.__doc__
    shown = pydoc.render_doc(segment, renderer=pydoc.plaintext)  # what help(segment) prints
    assert "segment(query: 'str', frames: 'list[Frame] | list[int] | None' = None)" in shown and "context" not in shown
    assert "context" not in render_prompt_section()
    assert namespace["distance"] is next(p for p in registry.registered() if p.name == "distance").func  # needs none


def test_a_wrong_call_of_a_bound_primitive_reads_as_the_model_wrote_it():
    """Python's own TypeError, counting the arguments the model sees; no frame of the binding."""
    namespace: dict = {}
    primitives.install(namespace, KernelContext(frames=_frames(2, 1.0)))
    with pytest.raises(TypeError, match=r"segment\(\) takes from 1 to 2 positional arguments but 3 were given"):
        namespace["segment"]("chair", None, 3)
    with pytest.raises(ValueError, match="seconds") as err:
        namespace["frame_at"]("soon")
    names = [f.name for f in traceback.extract_tb(err.value.__traceback__)]
    assert names[1:] == ["frame_at", "_seconds"]  # the test, then the primitive's own code


def test_a_context_parameter_must_be_keyword_only_typed_and_without_default():
    for bad in ("context: KernelContext, x: int", "x: int, context: KernelContext = None", "x: int, *, context: dict"):
        namespace: dict = {}
        exec(f"def odd({bad}) -> int:\n    \"\"\"Do it.\n\n    Args:\n        x: a thing.\n    \"\"\"\n", namespace)
        with pytest.raises(PrimitiveDefinitionError, match=r"keyword-only parameter without a default, `\*, context: KernelContext`"):
            primitive(group="geometry")(namespace["odd"])


def test_the_context_is_not_documented_to_the_model():
    with pytest.raises(PrimitiveDefinitionError, match="the model never passes context"):

        @primitive(group="geometry")
        def documented(x: int, *, context: KernelContext) -> int:
            """Do it.

            Args:
                x: a thing.
                context: the kernel.
            """
            return x

    @primitive(group="geometry")
    def frames_count(x: int, *, context: KernelContext) -> int:
        """Do it.

        Args:
            x: a thing.
        """
        return x + len(context.frames)

    entry = next(p for p in registry.registered() if p.name == "frames_count")
    assert entry.needs_context and entry.signature == "(x: int) -> int"
    assert registry.bind(entry, KernelContext(frames=_frames(3, 1.0)))(1) == 4
