"""Values of a planned change that are known only after apply.

Terraform marks them in ``after_unknown``; Pulumi's preview writes the string
``04da6b54-80e4-46f7-96ec-b56ff0331ba9`` in their place. The plan reader puts :data:`AFTER_APPLY` there
instead: a string (so documents stay JSON, fingerprints and evidence serialise as they do for any
document) of its own type, which the condition language recognises (:mod:`auditor.conditions`): the
presence operators (``present``, ``absent``, ``empty``, ``not_empty``) treat it as present, every operator
that needs the value (``eq``, ``in``, ``truthy``, ...) answers ERROR "known only after apply".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PULUMI_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's wire form of an unknown value
KNOWN_AFTER_APPLY = "(known after apply)"
AFTER_APPLY_TEXT = "known only after apply"  # what an ERROR finding says


class AfterApply(str):
    """A planned value known only after apply (Terraform and Pulumi print it as "(known after apply)")."""

    __slots__ = ()


AFTER_APPLY = AfterApply(KNOWN_AFTER_APPLY)


class NotInPlan(str):
    """A value the plan cannot tell, whatever is applied: it is decided by resources outside it (an approved
    private endpoint connection). Its text says why; every operator answers ERROR with it."""

    __slots__ = ()


def plan_gap(root: Any, keys: tuple[str, ...]) -> tuple[NotInPlan | AfterApply | None, int]:
    """Along the field chain ``keys`` from ``root``: the first :class:`NotInPlan` or value known only after
    apply met, and how many keys led to it; (None, 0) when the chain holds neither."""
    value = root
    for depth, key in enumerate(keys):
        if not isinstance(value, Mapping):
            return None, 0
        value = value.get(key)
        if isinstance(value, NotInPlan | AfterApply):
            return value, depth + 1
    return None, 0


def unknown_under(value: Any, names: frozenset[str]) -> bool:
    """Whether ``value`` holds, under a key in ``names`` (the fields an expression reads), a value known only
    after apply (or a list holding one)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in names and (isinstance(item, AfterApply) or (
                    isinstance(item, list) and any(isinstance(v, AfterApply) for v in item))):
                return True
            if unknown_under(item, names):
                return True
    elif isinstance(value, list):
        return any(unknown_under(item, names) for item in value)
    return False


def holds_after_apply(value: Any) -> bool:
    """Whether ``value`` is, or holds at any depth, a value known only after apply."""
    if isinstance(value, AfterApply):
        return True
    if isinstance(value, Mapping):
        return any(holds_after_apply(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(holds_after_apply(v) for v in value)
    return False


# -- what a condition's path reads (its JMESPath syntax tree) ----------------------------------------------------

def field_names(node: Any) -> set[str]:
    """Every field an expression reads, at any depth (filters and function arguments included)."""
    if not isinstance(node, Mapping):
        return set()
    names = {str(node["value"])} if node.get("type") == "field" else set()
    for child in node.get("children", ()):
        names |= field_names(child)
    return names


_LEFT = frozenset({"subexpression", "projection", "filter_projection", "index_expression", "flatten", "pipe",
                   "or_expression"})


def lead_chain(node: Mapping[str, Any]) -> tuple[str, ...]:
    """The field lookups an expression starts with, down its left-most branch: ``a.b`` of ``a.b[?c].d`` and of
    ``a.b || 'x'``; ``min(a.b)`` starts with none (a function is not a lookup)."""
    kind = node.get("type")
    if kind == "field":
        return (str(node["value"]),)
    children = node.get("children") or []
    if kind not in _LEFT or not children:
        return ()
    if kind != "subexpression":
        return lead_chain(children[0])
    chain: tuple[str, ...] = ()
    for child in children:  # a.b.c.d: one subexpression of four fields
        if not _only_fields(child):
            return chain + lead_chain(child)
        chain += _fields(child)
    return chain


def _only_fields(node: Mapping[str, Any]) -> bool:
    if node.get("type") == "field":
        return True
    return node.get("type") == "subexpression" and all(_only_fields(c) for c in node.get("children", ()))


def _fields(node: Mapping[str, Any]) -> tuple[str, ...]:
    if node.get("type") == "field":
        return (str(node["value"]),)
    return tuple(f for c in node.get("children", ()) for f in _fields(c))
