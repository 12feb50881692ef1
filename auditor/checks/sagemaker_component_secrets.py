"""aws.sagemaker.inference_component.no_plaintext_secrets: what a component runs keeps no secret in its environment.

An inference component runs either a container of its own (``Specification.Container``, with its
environment) or a SageMaker model (``Specification.ModelName``), whose containers' environments then apply.
The component is judged on both with the shared check (:mod:`auditor.checks.plaintext_secrets`): its own
variables and those of each model it runs, named ``model NAME: CONTAINER: VARIABLE`` in the evidence. A model
it names that does not exist, or could not be read, is MissingData (ERROR): what the component serves is not
known, so it is not a PASS. An adapter component (``BaseInferenceComponentName``, no model and no container of
its own) runs its base component's container and is NOT_APPLICABLE: the base component is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.checks import related
from auditor.checks.plaintext_secrets import judge
from auditor.errors import MissingData
from auditor.model import Inventory, Resource
from auditor.rule_parts import Verdict


def _base(document: Mapping[str, Any]) -> str | None:
    specification = document.get("Specification")
    if isinstance(specification, Mapping) and specification.get("BaseInferenceComponentName"):
        return str(specification["BaseInferenceComponentName"])
    return None


def check(resource: Resource, inventory: Inventory, params: Mapping[str, Any]) -> Verdict:
    own = related(resource, "environment_variables", "the component's container environment")
    models = related(resource, "models", "the models the component runs")
    variables: list[Mapping[str, Any]] = list(own)
    names: list[str] = []
    for arn in models:
        if not isinstance(arn, str):
            raise MissingData("a model the component runs does not exist: what it serves is unknown")
        model = next((r for r in inventory.resources if r.id == arn), None)  # one scan: components are few
        if model is None:
            raise MissingData(f"the model {arn} the component runs is not in the inventory")
        names.append(model.name)
        for var in related(model, "environment_variables", f"the environment of model {model.name}"):
            container = f"model {model.name}: {var.get('container') or 'container'}"
            variables.append({**var, "container": container})
    base = _base(resource.document)
    if not models and not own and base is not None:
        return Verdict(False, f"Inference component {resource.name} is an adapter of {base}, which is judged "
                              "on its own container.", {"BaseInferenceComponentName": base}, applicable=False)
    return judge(variables, params, {"models": sorted(names)})


CHECK = check
