"""The `@primitive` registry: what the model may call, and the prompt text describing it.

Every primitive is a typed, documented function. The prompt's description of the toolbox is
rendered from the registered signatures and docstrings (`render_prompt_section`), so it cannot
drift from the code. A primitive without a docstring, a type hint on every parameter and the
return, or an ``Args:`` entry for every parameter is refused when its module is imported.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

GROUPS = ("frames", "reconstruction", "segmentation", "objects", "geometry", "drawing", "vlm")


class PrimitiveDefinitionError(TypeError):
    """A primitive is missing a docstring, a type hint or a parameter description."""


@dataclass(frozen=True)
class Primitive:
    """One registered primitive: its function and the text the prompt shows for it."""

    name: str
    func: Callable[..., Any]
    group: str
    signature: str
    doc: str

    def to_prompt(self) -> str:
        """``def name(sig):`` followed by the indented docstring."""
        body = "\n".join(("    " + line).rstrip() for line in self.doc.splitlines())
        return f"def {self.name}{self.signature}:\n    \"\"\"\n{body}\n    \"\"\""


_REGISTRY: dict[str, Primitive] = {}


def _documented_params(doc: str) -> set[str]:
    match = re.search(r"^Args:\s*$(.*?)(?:^\S|\Z)", doc, flags=re.M | re.S)
    if not match:
        return set()
    return set(re.findall(r"^\s+\*{0,2}(\w+)(?:\s*\([^)]*\))?:", match.group(1), flags=re.M))


def _format_signature(func: Callable[..., Any]) -> str:
    sig = inspect.signature(func)
    return str(sig).replace("'", "")


def primitive(func: F | None = None, *, group: str = "geometry", name: str | None = None) -> Any:
    """Register ``func`` as a primitive the model can call.

    Usage: ``@primitive(group="objects")`` above a function with a docstring, type hints on
    every parameter and the return value, and an ``Args:`` section naming every parameter.
    """
    if group not in GROUPS:
        raise PrimitiveDefinitionError(f"unknown primitive group {group!r}; use one of {GROUPS}")

    def register(f: F) -> F:
        pname = name or f.__name__
        where = f"primitive {pname} ({f.__module__})"
        doc = inspect.getdoc(f)
        if not doc:
            raise PrimitiveDefinitionError(f"{where} has no docstring")
        sig = inspect.signature(f)
        if sig.return_annotation is inspect.Signature.empty:
            raise PrimitiveDefinitionError(f"{where} has no return type hint")
        params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        for p in sig.parameters.values():
            if p.annotation is inspect.Parameter.empty:
                raise PrimitiveDefinitionError(f"{where}: parameter {p.name!r} has no type hint")
        missing = {p.name for p in params} - _documented_params(doc)
        if missing:
            raise PrimitiveDefinitionError(f"{where}: Args: does not describe {sorted(missing)}")
        existing = _REGISTRY.get(pname)
        if existing is not None and existing.func.__module__ != f.__module__:
            raise PrimitiveDefinitionError(f"{where} is already registered by {existing.func.__module__}")
        _REGISTRY[pname] = Primitive(pname, f, group, _format_signature(f), doc)
        return f

    return register(func) if func is not None else register


def registered() -> list[Primitive]:
    """All registered primitives, by group (in `GROUPS` order), then in definition order."""
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(_REGISTRY.values(), key=lambda p: order[p.group])


def render_prompt_section(primitives: list[Primitive] | None = None) -> str:
    """The prompt's toolbox section: one ``def`` stub with docstring per primitive, grouped.

    Args:
        primitives: what to render; all registered primitives (after loading every module) by default.
    """
    if primitives is None:
        from spatialclaw.primitives import load_all

        load_all()
        primitives = registered()
    parts: list[str] = []
    group = None
    for p in primitives:
        if p.group != group:
            group = p.group
            parts.append(f"# --- {group} ---")
        parts.append(p.to_prompt())
    return "```python\n" + "\n\n".join(parts) + "\n```"
