"""Python checks: the escape hatch for rules the condition language cannot express.

Each module in this package exposes ``CHECK``, a callable with the ``Check`` signature; the
module name is the check's name, which a rule names with ``check: <name>``. Modules are listed
without being imported and imported only when a rule uses them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any, Protocol

from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict


class Check(Protocol):
    def __call__(self, resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
        """Decide pass or fail; raise auditor.errors.MissingData when the data is not there."""
        ...


@functools.cache
def available() -> frozenset[str]:
    """The check names (module names), listed once: the package's modules do not change at run time."""
    return frozenset(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> Check:
    if name not in available():
        raise KeyError(f"no check named '{name}'")
    module = importlib.import_module(f"{__name__}.{name}")
    check: Check = module.CHECK
    return check


def related(resource: Resource, name: str, what: str) -> Any:
    """``resource.related[name]``, or MissingData saying why it is not known.

    A resource that could not be read at all, a related value the collector marked unreadable
    (``related.<name>``) and one it never filled are all MissingData (the finding becomes ERROR),
    each with its reason; ``what`` names the value for a person ("the identity's role assignments").
    """
    if "*" in resource.unreadable:
        raise MissingData(f"the {resource.type} could not be read: {resource.unreadable['*']}")
    key = f"related.{name}"
    if key in resource.unreadable:
        raise MissingData(f"{what} could not be read: {resource.unreadable[key]}")
    value = resource.related.get(name)
    if value is None:
        raise MissingData(f"{what} were not collected")
    return value

