"""Every third-party import of the package is declared in the dependency set that uses it.

The light install (`pip install .`) must run everything but the learned backend, the local
transformers model and Ray: a module imported on those paths, even lazily inside a function,
belongs in the base set. `.ci/run` checks the same thing for real in a venv holding the base
set alone; this test catches a new undeclared import in seconds.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("spatialclaw", "primitives", "prompts")
# Files that only run when an extra is installed (they say so with a one-line message otherwise).
EXTRA_FILES = {
    "learned": ("primitives/backends/learned/", "spatialclaw/models/hf_local.py", "spatialclaw/models/local_default.py",
                "spatialclaw/testing/tiny_vlm.py", "spatialclaw/testing/tiny_models.py"),
    "ray": ("spatialclaw/eval/executors.py",),
    "ray-serve": ("spatialclaw/perception_service/ray_deployment.py", "spatialclaw/perception_service/ray_client.py"),
    "da3": ("primitives/backends/learned/da3.py", "spatialclaw/testing/tiny_models.py"),
}
# Installed by hand without its own pins (README, Depth Anything 3), so no extra can name it.
BY_HAND = {"depth-anything-3": EXTRA_FILES["da3"]}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    sets = {"base": {_name(r) for r in project["dependencies"]}}
    for extra, requirements in project["optional-dependencies"].items():
        sets[extra] = {_name(r) for r in requirements if not r.startswith("spatialclaw")}
    return sets


def _imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path``, at module level or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _allowed_sets(rel: str) -> tuple[str, ...]:
    return ("base",) + tuple(extra for extra, prefixes in EXTRA_FILES.items() if rel.startswith(prefixes))


def test_every_third_party_import_is_in_the_set_of_its_path() -> None:
    declared = _declared()
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            allowed = set().union(*(declared[s] for s in _allowed_sets(rel)))
            for module in sorted(_imports(path)):
                if module in sys.stdlib_module_names or module in ("spatialclaw", "__future__"):
                    continue
                dists = {_name(d) for d in distributions.get(module, [module])}
                if module == "open3d":
                    dists = {"open3d", "open3d-cpu"}
                if any(d in BY_HAND and rel.startswith(BY_HAND[d]) for d in dists):
                    continue
                if not dists & allowed:
                    missing.append(f"{rel} imports {module} ({', '.join(sorted(dists))}) outside {_allowed_sets(rel)}")
    assert not missing, "\n".join(missing)


def test_open3d_build_follows_the_platform() -> None:
    """open3d-cpu where it has wheels (x86_64 Linux), the regular open3d of the same version elsewhere."""
    requirements = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    open3d = [r for r in requirements if r.name in ("open3d", "open3d-cpu")]

    def chosen(system: str, machine: str) -> list[str]:
        env = {**default_environment(), "platform_system": system, "platform_machine": machine}
        return [f"{r.name}{r.specifier}" for r in open3d if r.marker is None or r.marker.evaluate(env)]

    assert chosen("Linux", "x86_64") == ["open3d-cpu==0.19.0"]
    assert chosen("Linux", "aarch64") == ["open3d==0.19.0"]
    assert chosen("Darwin", "arm64") == ["open3d==0.19.0"]
    assert chosen("Darwin", "x86_64") == ["open3d==0.19.0"]
    assert chosen("Windows", "AMD64") == ["open3d==0.19.0"]
