"""The `@primitive` registry: what the model may call, and the prompt text describing it.

Every primitive is a typed, documented function. The prompt's description of the toolbox is
rendered from the registered signatures and docstrings (`render_prompt_section`), so it cannot
drift from the code. A primitive without a docstring, a type hint on every parameter and the
return, or an ``Args:`` entry for every parameter (and for no parameter it lacks) is refused
when its module is imported. `describe` builds the prompt entry of any function the same way.

A primitive that needs the kernel (its frames, backends, cache, host) declares a keyword-only
parameter ``context: KernelContext`` (without a default, left out of its ``Args:``). The model
never passes it: `bind` gives it, per kernel, and the prompt's signature leaves it out.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from spatialclaw.primitives.context import KernelContext

F = TypeVar("F", bound=Callable[..., Any])

# Modules whose import registers primitives (`load_all`), under ``spatialclaw.primitives``.
MODULES: tuple[str, ...] = ("output", "timeline", "reconstruct", "segment", "objects", "tracks", "geometry", "draw", "vlm")
GROUPS = ("output", "frames", "reconstruction", "segmentation", "objects", "geometry", "drawing", "vlm")


class PrimitiveDefinitionError(TypeError):
    """A primitive is missing a docstring, a type hint or a parameter description."""


@dataclass(frozen=True)
class Primitive:
    """One registered primitive: its function and the text the prompt shows for it.

    ``needs_context``: ``func`` takes the keyword-only ``context`` (`bind` gives it); ``signature``
    leaves it out.
    """

    name: str
    func: Callable[..., Any]
    group: str
    signature: str
    doc: str
    needs_context: bool = False

    def to_prompt(self) -> str:
        """``def name(sig):`` followed by the indented docstring."""
        body = "\n".join(("    " + line).rstrip() for line in self.doc.splitlines())
        return f"def {self.name}{self.signature}:\n    \"\"\"\n{body}\n    \"\"\""


_REGISTRY: dict[str, Primitive] = {}


def _documented_params(doc: str) -> set[str]:
    """The names the ``Args:`` section describes: its lines at the first entry's indentation
    that read ``name:`` or ``name (type):`` (deeper lines continue an entry)."""
    match = re.search(r"^Args:\s*$(.*?)(?:^\S|\Z)", doc, flags=re.M | re.S)
    if not match:
        return set()
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    if not lines:
        return set()
    indent = len(lines[0]) - len(lines[0].lstrip())
    entry = re.compile(r"\*{0,2}(\w+)(?:\s*\([^)]*\))?:")
    names = set()
    for line in lines:
        if len(line) - len(line.lstrip()) == indent:
            found = entry.match(line.lstrip())
            if found:
                names.add(found.group(1))
    return names


def _annotation(annotation: Any) -> str:
    """An annotation as written: the string itself under ``from __future__ import annotations``."""
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _format_parameter(p: inspect.Parameter) -> str:
    prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
    text = prefix + p.name
    if p.annotation is not p.empty:
        text += f": {_annotation(p.annotation)}"
    if p.default is not p.empty:
        text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
    return text


CONTEXT = "context"
"""The name of the parameter by which a primitive takes the kernel context."""


def model_signature(func: Callable[..., Any]) -> inspect.Signature:
    """``func``'s signature as the model calls it: without the ``context`` parameter."""
    sig = inspect.signature(func)
    return sig.replace(parameters=[p for p in sig.parameters.values() if p.name != CONTEXT])


def format_signature(func: Callable[..., Any]) -> str:
    """``(a: int, *, b: str = 'x') -> float``, written from the parameter objects of
    `model_signature` (``context`` left out).

    >>> def f(a: int, /, b: str = "x", *rest: float, c: bool = False, **kw: int) -> None: ...
    >>> format_signature(f)
    "(a: int, /, b: str = 'x', *rest: float, c: bool = False, **kw: int) -> None"
    >>> def g(frames: list | None = None, *, context: KernelContext) -> int: ...
    >>> format_signature(g)
    '(frames: list | None = None) -> int'
    """
    sig = model_signature(func)
    parts: list[str] = []
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind == p.KEYWORD_ONLY and not any(q.kind in (q.VAR_POSITIONAL, q.KEYWORD_ONLY) for q in params[:i]):
            parts.append("*")
        parts.append(_format_parameter(p))
        if p.kind == p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind != p.POSITIONAL_ONLY):
            parts.append("/")
    text = f"({', '.join(parts)})"
    if sig.return_annotation is not sig.empty:
        text += f" -> {_annotation(sig.return_annotation)}"
    return text


def _takes_context(func: Callable[..., Any], where: str) -> bool:
    """Whether ``func`` declares ``*, context: KernelContext``; any other ``context`` parameter is refused."""
    p = inspect.signature(func).parameters.get(CONTEXT)
    if p is None:
        return False
    annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", None)
    if p.kind != p.KEYWORD_ONLY or p.default is not p.empty or annotation != "KernelContext":
        raise PrimitiveDefinitionError(
            f"{where}: the kernel context is passed as a keyword-only parameter without a default, "
            f"`*, context: KernelContext`; got `{_format_parameter(p)}`"
        )
    return True


def describe(func: Callable[..., Any], group: str, name: str | None = None) -> Primitive:
    """The registry entry of ``func`` (checked as `primitive` checks it), without registering it."""
    pname = name or func.__name__
    where = f"primitive {pname} ({func.__module__})"
    doc = inspect.getdoc(func)
    if not doc:
        raise PrimitiveDefinitionError(f"{where} has no docstring")
    needs_context = _takes_context(func, where)
    sig = model_signature(func)
    if sig.return_annotation is inspect.Signature.empty:
        raise PrimitiveDefinitionError(f"{where} has no return type hint")
    for p in sig.parameters.values():
        if p.annotation is inspect.Parameter.empty:
            raise PrimitiveDefinitionError(f"{where}: parameter {p.name!r} has no type hint")
    documented = _documented_params(doc)
    missing = {p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} - documented
    if missing:
        raise PrimitiveDefinitionError(f"{where}: Args: does not describe {sorted(missing)}")
    unknown = documented - set(sig.parameters)
    if unknown:
        hidden = " (the model never passes context: leave it out)" if CONTEXT in unknown and needs_context else ""
        raise PrimitiveDefinitionError(f"{where}: Args: describes {sorted(unknown)}, which it has no parameter for{hidden}")
    return Primitive(pname, func, group, format_signature(func), doc, needs_context)


def bind(entry: Primitive, context: KernelContext) -> Callable[..., Any]:
    """``entry.func`` as the model calls it in the kernel of ``context``: the function itself, or
    for a primitive that `needs_context`, a copy of it whose ``context`` defaults to ``context``.

    A copy of the function, not a wrapper around it: the model's tracebacks show no frame of
    ours, and a wrong call raises Python's own TypeError, which counts the arguments the model
    sees. ``help()`` and ``inspect.signature`` show `model_signature`.
    """
    func = entry.func
    if not entry.needs_context:
        return func
    bound = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    functools.update_wrapper(bound, func)
    bound.__kwdefaults__ = {**(func.__kwdefaults__ or {}), CONTEXT: context}
    bound.__signature__ = model_signature(func)
    return bound


def primitive(func: F | None = None, *, group: str = "geometry", name: str | None = None) -> Any:
    """Register ``func`` as a primitive the model can call.

    Usage: ``@primitive(group="objects")`` above a function with a docstring, type hints on
    every parameter and the return value, and an ``Args:`` section naming every parameter but
    the kernel context (``*, context: KernelContext``, for a primitive that needs one).
    """
    if group not in GROUPS:
        raise PrimitiveDefinitionError(f"unknown primitive group {group!r}; use one of {GROUPS}")

    def register(f: F) -> F:
        entry = describe(f, group, name)
        existing = _REGISTRY.get(entry.name)
        if existing is not None and existing.func.__module__ != f.__module__:
            raise PrimitiveDefinitionError(
                f"primitive {entry.name} ({f.__module__}) is already registered by {existing.func.__module__}"
            )
        _REGISTRY[entry.name] = entry
        return f

    return register(func) if func is not None else register


def load_all() -> None:
    """Import every primitive module (`MODULES`) so that each registers its functions."""
    import importlib

    for module in MODULES:
        importlib.import_module(f"spatialclaw.primitives.{module}")


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
