"""Related values a collector derives from a document, derived the same way from a planned resource's document.

A mapping entry's ``derive: {RELATED_KEY: DERIVATION}`` names one of :data:`DERIVATIONS`; after the entry's
document is built, the derivation reads it and its answer becomes ``related.RELATED_KEY``, exactly as the
runtime collector builds that key, so the same check judges a plan and a scanned estate.

``container_environment``: SageMaker models' container environment variables
(:func:`auditor.providers.aws.sagemaker_serving.container_environment`, the collector's own function): per
variable its container, name, whether it has a value and the kinds of secret the value looks like, never
the value (the plan's document is redacted right after, as the collector redacts DescribeModel's answer).
A variable whose value is known only after apply has a value and no secret kinds: the rule's name patterns
alone decide it. An environment, a container or the list of containers known only after apply leaves the
variables unknown: ``related.environment_variables`` is unreadable and the rules reading it answer ERROR.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from auditor.planned import AFTER_APPLY_TEXT, AfterApply
from auditor.providers.aws.sagemaker_serving import container_environment, containers


@dataclass(frozen=True, slots=True)
class Derived:
    """A derived related value, or why the plan cannot tell it."""

    value: Any = None
    unknown: str = ""  # non-empty: the value is not known at plan time, and why


Derivation = Callable[[str, Mapping[str, Any]], Derived]  # (catalog resource type, mapped document) -> value

_CONTAINER_LISTS = ("Containers", "Specifications")  # the lists of containers the runtime walks


def environment_variables(resource_type: str, document: Mapping[str, Any]) -> Derived:
    """``related.environment_variables`` of a planned model (see the module)."""
    unknown = [key for key in _CONTAINER_LISTS if isinstance(document.get(key), AfterApply)]
    unknown += [where for where, container in containers(resource_type, document)
                if isinstance(container, AfterApply)
                or (isinstance(container, Mapping) and isinstance(container.get("Environment"), AfterApply))]
    if unknown:
        return Derived(unknown=f"the environment of {', '.join(unknown)} is {AFTER_APPLY_TEXT}")
    variables = container_environment(resource_type, document) or []
    after_apply = {(where, str(name)) for where, container in containers(resource_type, document)
                   if isinstance(container, Mapping) and isinstance(container.get("Environment"), Mapping)
                   for name, value in container["Environment"].items() if isinstance(value, AfterApply)}
    return Derived(value=[{**v, "has_value": True, "secret_kinds": []}
                          if (v["container"], v["name"]) in after_apply else v for v in variables])


DERIVATIONS: Mapping[str, Derivation] = MappingProxyType({"container_environment": environment_variables})
