"""Package discovery: `primitives/` and `prompts/` are installed as `spatialclaw.primitives` and
`spatialclaw.prompts`, and every subpackage of the three roots is found, none listed by hand.
Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

ROOTS = {"spatialclaw": "spatialclaw", "spatialclaw.primitives": "primitives", "spatialclaw.prompts": "prompts"}

setup(
    package_dir=ROOTS,
    packages=[f"{name}.{sub}" if sub else name for name, folder in ROOTS.items() for sub in ["", *find_packages(folder)]],
)
