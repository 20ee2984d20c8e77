"""Inputs the kernel's uid cannot read (a 0600 file in a 0700 folder, as root): the kernel reads a
session copy only it can read; nothing on the host becomes readable to anyone else."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from bwrap_probe import needs_bwrap
from spatialclaw.inputs.load import load_input
from spatialclaw.kernel.access import first_unreachable, kernel_copies, readable_by_others
from spatialclaw.kernel.session import KernelSession

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the kernel drops to another uid only when the host is root")


def _private_images(folder: Path, count: int = 2) -> list[Path]:
    """``count`` 16×12 PNGs (mode 0600) and a root-only ``secret.txt`` in ``folder`` (mode 0700)."""
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    paths = []
    for k in range(count):
        path = folder / f"img{k}.png"
        Image.new("RGB", (16, 12), (60 * (k + 1), 5, 5)).save(path)
        os.chmod(path, 0o600)
        paths.append(path)
    (folder / "secret.txt").write_text("root only")
    os.chmod(folder / "secret.txt", 0o600)
    return paths


def test_readability_is_judged_by_the_other_bits_and_the_folders_on_the_way(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    os.chmod(outer, 0o711)
    open_file = outer / "open.txt"
    open_file.write_text("x")
    os.chmod(open_file, 0o644)
    assert readable_by_others(open_file, through_parents=False)
    os.chmod(outer, 0o700)
    assert readable_by_others(open_file, through_parents=False) and not readable_by_others(open_file, through_parents=True)
    os.chmod(open_file, 0o640)
    assert not readable_by_others(open_file, through_parents=False)
    assert first_unreachable([tmp_path / "missing", open_file], through_parents=False) == open_file


def test_copies_are_made_only_where_needed_and_only_the_session_can_read_them(tmp_path: Path) -> None:
    private, shown = _private_images(tmp_path / "private"), tmp_path / "shown.png"
    Image.new("RGB", (4, 4)).save(shown)
    os.chmod(shown, 0o644)
    rgbd = tmp_path / "scan"
    (rgbd / "color").mkdir(parents=True)
    (rgbd / "color" / "0.jpg").write_bytes(b"open")
    os.chmod(rgbd / "color" / "0.jpg", 0o644)
    (rgbd / "pose.txt").write_bytes(b"private")
    os.chmod(rgbd / "pose.txt", 0o600)
    copies = kernel_copies([*private, shown, rgbd], tmp_path / "session", 4242, through_parents=False)
    assert set(copies) == {*private, rgbd}
    for original, copy in copies.items():
        if original.is_file():
            assert copy.read_bytes() == original.read_bytes()
            info = copy.stat()
            assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 4242, 0o440)
            assert stat.S_IMODE(original.stat().st_mode) == 0o600  # the host file is unchanged
    mirror = copies[rgbd]
    assert (mirror / "pose.txt").read_bytes() == b"private" and stat.S_IMODE((mirror / "pose.txt").stat().st_mode) == 0o440
    assert (mirror / "color" / "0.jpg").stat().st_ino == (rgbd / "color" / "0.jpg").stat().st_ino  # linked, not copied
    assert stat.S_IMODE((mirror / "color").stat().st_mode) == 0o750 and (mirror / "color").stat().st_gid == 4242


@root_only
@needs_bwrap
def test_an_input_in_a_private_folder_is_read_and_its_neighbours_stay_unreadable(tmp_path: Path) -> None:
    images = _private_images(tmp_path / "private")
    with KernelSession(load_input(tmp_path / "private", frames=None), sandbox="auto") as session:
        assert session.sandbox_info["uid"] != 0 and "2 input(s) other users cannot read copied" in session.sandbox_info["reason"]
        code = (
            "import hashlib, os\n"
            f"paths = {[str(p) for p in images]!r}\n"
            "print([hashlib.sha256(open(p, 'rb').read()).hexdigest() for p in paths])\n"
            "for p in [os.path.join(os.path.dirname(paths[0]), 'secret.txt'), os.path.dirname(paths[0])]:\n"
            "    try:\n"
            "        print(open(p).read() if os.path.isfile(p) else os.listdir(p))\n"
            "    except OSError as err:\n"
            "        print(type(err).__name__)\n"
        )
        result = session.execute(code)
        assert result.error is None, result.error
        import hashlib

        digests, secret, listing = result.text.strip().splitlines()
        assert digests == str([hashlib.sha256(p.read_bytes()).hexdigest() for p in images])
        assert secret in ("FileNotFoundError", "PermissionError") and "secret" not in listing
        extra = session.execute("import cv2\nprint([cv2.imread(str(p)).shape for p in _spatialclaw_context.source_files])")
        assert extra.error is None and extra.text.strip() == "[(12, 16, 3), (12, 16, 3)]"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in images)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700


@root_only
@needs_bwrap
def test_a_private_rgbd_folder_is_mirrored_for_the_kernel(tmp_path: Path) -> None:
    import numpy as np

    from spatialclaw.inputs.rgbd import write_frame, write_intrinsics

    root = tmp_path / "scan"
    for i in range(3):
        write_frame(root, i, np.full((12, 16, 3), 30 * i, np.uint8), depth_m=np.full((12, 16), 1.5), pose=np.eye(4))
    write_intrinsics(root, np.array([[20.0, 0, 8], [0, 20.0, 6], [0, 0, 1]]))
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    with KernelSession(load_input(root, frames=2), sandbox="auto") as session:
        code = ("from spatialclaw.inputs.rgbd import read_color, scan_rgbd\n"
                "root = _spatialclaw_context.source_path\n"
                "print(root, list(scan_rgbd(root).indices), int(read_color(root, 1)[0, 0, 0]))")
        result = session.execute(code)
        assert result.error is None, result.error
        assert result.text.split() == [str(root.resolve()), "[0,", "1,", "2]", "30"]
    assert all(stat.S_IMODE(p.stat().st_mode) in (0o700, 0o600) for p in [root, *root.rglob("*")])


def test_a_file_removed_while_its_folder_is_mirrored_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent writing its trajectory into the input folder renames ``trajectory.json.tmp`` while the
    next kernel's copy of that folder is made: the copy goes on without it."""
    from spatialclaw.kernel import access

    source = tmp_path / "input"
    source.mkdir()
    for name in ("a.png", "trajectory.json.tmp"):
        (source / name).write_bytes(b"x" * 10)
        os.chmod(source / name, 0o600)
    os.chmod(source, 0o700)
    checked, mirror = access.readable_by_others, access._mirror
    mirroring = []

    def check_then_rename(path: Path, **kwargs) -> bool:
        answer = checked(path, **kwargs)
        if mirroring and path.name == "trajectory.json.tmp":
            path.rename(path.with_name("trajectory.json"))  # after the listing and the checks, before the copy
        return answer

    def mirror_now(*args) -> None:
        mirroring.append(True)
        mirror(*args)

    monkeypatch.setattr(access, "readable_by_others", check_then_rename)
    monkeypatch.setattr(access, "_mirror", mirror_now)
    copies = kernel_copies([source], tmp_path / "copies", os.getgid(), through_parents=False)
    copy = copies[source.resolve()]
    assert sorted(p.name for p in copy.iterdir()) == ["a.png"]
    assert (copy / "a.png").read_bytes() == b"x" * 10
