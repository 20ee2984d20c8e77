"""Matching a free-text object query ("chairs", "couch, tv") to the labels an input carries.

Matching is case-insensitive, ignores simple plurals ("boxes" = "box", "shelves" = "shelf") and
treats common synonyms as one name ("couch" = "sofa"). A query term that names no label exactly
falls back to its head noun ("office chair" → "chair") and to labels whose head noun it is
("chair" → "office chair").
"""

from __future__ import annotations

import re

_SYNONYM_GROUPS = (
    ("sofa", "couch", "settee"),
    ("tv", "television", "tv monitor", "television set"),
    ("refrigerator", "fridge"),
    ("trash can", "trash bin", "trashcan", "garbage can", "garbage bin", "waste bin", "wastebasket", "bin"),
    ("nightstand", "night stand", "bedside table"),
    ("bookshelf", "bookcase", "book shelf"),
    ("plant", "potted plant", "houseplant"),
    ("rug", "carpet", "mat"),
    ("bathtub", "tub", "bath"),
    ("cabinet", "cupboard"),
    ("pillow", "cushion"),
    ("monitor", "computer monitor"),
    ("picture", "painting", "poster", "framed picture"),
    ("table", "dining table"),
    ("chair", "armchair"),
    ("lamp", "floor lamp", "table lamp"),
    ("shelf", "shelving"),
)
_CANONICAL = {name: group[0] for group in _SYNONYM_GROUPS for name in group}
_EVERYTHING = {"*", "all", "everything", "objects", "object", "all objects", "anything"}


def singular(word: str) -> str:
    """A simple English singular: ``shelves`` → ``shelf``, ``boxes`` → ``box``, ``chairs`` → ``chair``."""
    if len(word) <= 2 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ves") and word not in {"curves", "valves"}:
        return word[:-3] + "f"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def canonical(name: str) -> str:
    """Lower-case, single-spaced, singular, synonym-resolved form of an object name."""
    words = re.sub(r"[_\-]+", " ", name.lower()).split()
    words = [re.sub(r"[^a-z0-9]", "", w) for w in words]
    words = [w for w in words if w and w not in {"a", "an", "the", "every", "each", "all"}]
    if not words:
        return ""
    words[-1] = singular(words[-1])
    text = " ".join(words)
    return _CANONICAL.get(text, text)


def split_query(query: str) -> list[str]:
    """The terms of a query: ``"chairs, tables and sofas"`` → ``["chairs", "tables", "sofas"]``."""
    parts = re.split(r"\s*(?:,|;|\||\band\b|\bor\b)\s*", query.strip())
    return [p for p in (q.strip() for q in parts) if p]


def match_labels(query: str, labels: list[str]) -> dict[str, str]:
    """Which of ``labels`` the query asks for.

    Args:
        query: object names separated by commas / "and" / "or"; ``"*"`` or ``"all"`` means every label.
        labels: the labels present in the input.

    Returns:
        ``{label: query term that matched it}``.

    >>> match_labels("couches and tables", ["sofa", "table", "chair"])
    {'sofa': 'couches', 'table': 'tables'}
    """
    if query.strip().lower() in _EVERYTHING:
        return {label: label for label in labels}
    canon = {label: canonical(label) for label in labels}
    found: dict[str, str] = {}
    for term in split_query(query):
        c = canonical(term)
        hits = [label for label, lc in canon.items() if lc == c]
        if not hits and c:
            head = _CANONICAL.get(c.split()[-1], c.split()[-1])
            hits = [label for label, lc in canon.items() if lc == head or _CANONICAL.get(lc.split()[-1], lc.split()[-1]) == head]
        for label in hits:
            found.setdefault(label, term)
    return found
