"""Every ``>>>`` example in a docstring of SpatialClaw's modules runs, and gives what it shows.

The modules are imported by their installed names (``spatialclaw.primitives.*``), as pytest's
``--doctest-modules`` cannot: it would import ``primitives/`` a second time under another name.
"""

from __future__ import annotations

import doctest
import importlib

import pytest
from source_modules import NOT_IMPORTED, our_modules

WITH_EXAMPLES = sorted(m for m, path in our_modules().items() if m not in NOT_IMPORTED and ">>>" in path.read_text())


def test_examples_are_found() -> None:
    assert {"spatialclaw.images", "spatialclaw.options", "spatialclaw.primitives.registry"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' in its source but no example doctest can find"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed (see the output above)"
