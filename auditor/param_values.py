"""Enumerated rule parameters: ``param_values`` in a rule lists the only values a parameter may take.

A parameter compared with what a service returns (an auth mode, an isolation mode) has a closed set of
meaningful values: a value outside it (``AADTokn``) can never match, and would silently turn every
resource into a FAIL, or every PASS into nothing. The rule declares the set; its default and every
policy's value are checked against it when they are loaded. For a list parameter each item is checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from auditor.yamlio import brief

Problem = tuple[str, list[str | int]]  # the message and the path below the parameter (a list item's index)


def allowed_text(allowed: Sequence[Any]) -> str:
    return ", ".join(str(a) for a in allowed)


def _same(value: Any, allowed: Any) -> bool:
    """Equal, and of the same kind: a string never equals a number, a boolean is never a number."""
    if isinstance(value, bool) or isinstance(value, str) != isinstance(allowed, str):
        return False
    return bool(value == allowed)


def _suggestion(value: Any, allowed: Sequence[Any]) -> str:
    if not isinstance(value, str | int | float) or len(text := str(value)) > 200:
        return ""  # a typo is short and a scalar
    folded = [a for a in allowed if str(a).lower() == text.lower()]
    close = folded or [a for a in allowed if str(a) in difflib.get_close_matches(text, [str(x) for x in allowed], 1)]
    return f"; did you mean '{close[0]}'?" if close else ""


def value_problem(name: str, allowed: Sequence[Any], value: Any) -> Problem | None:
    """Why ``value`` cannot be parameter ``name``, whose values are ``allowed`` (None: it can)."""
    items: list[tuple[list[str | int], Any]] = (
        [([i], v) for i, v in enumerate(value)] if isinstance(value, list) else [([], value)])
    for where, item in items:
        if not any(_same(item, a) for a in allowed):
            each = "each item of " if where else ""
            return (f"{brief(item)} is not an allowed value of parameter '{name}' ({each}{name} must be one of: "
                    f"{allowed_text(allowed)}){_suggestion(item, allowed)}", where)
    return None
