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

from auditor.model import Inventory, Resource, Verdict


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
