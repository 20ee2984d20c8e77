"""SpatialClaw's own modules by their installed names, found from the source tree.

``primitives/`` and ``prompts/`` are installed as ``spatialclaw.primitives`` and
``spatialclaw.prompts``, so their files are named that way here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"spatialclaw": ROOT / "spatialclaw", "spatialclaw.primitives": ROOT / "primitives", "spatialclaw.prompts": ROOT / "prompts"}
# Run as scripts or in other processes only, never imported by the package's own modules.
NOT_IMPORTED = frozenset({"spatialclaw.__main__", "spatialclaw.kernel.launcher"})


def our_modules() -> dict[str, Path]:
    """``{installed module name: source file}`` for every module of the three packages."""
    modules = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules
