"""SageMaker endpoints in moto answer as SageMaker does: ``UpdateEndpoint``, and DescribeEndpoint's capture summary.

moto (pinned in constraints.txt) has no ``UpdateEndpoint`` (NotImplementedError in-process, HTTP 500 in
server mode) and its ``DescribeEndpoint`` echoes the endpoint config's whole ``DataCaptureConfig`` (``{}``
when there is none), where SageMaker answers a ``DataCaptureConfigSummary``. :func:`install` (called by
:func:`auditor.demo.moto_fixes.install`) gives moto's SageMaker backend, in this process:

* ``update_endpoint``: the endpoint takes the new config's name, data capture settings and (unless
  ``RetainAllVariantProperties``) its variants, as SageMaker does once an update completes; it refuses an
  endpoint that is not InService and a config that does not exist, with SageMaker's ``ValidationException``;
  the request handler routes the action to it, so boto3 (and ``auditor remediate``) can call it;
* ``describe_endpoint``: after an update the endpoint answers ``Updating`` for the next
  :data:`UPDATING_POLLS` describes, then ``InService``, so callers must wait as they do on AWS; and
  ``DataCaptureConfig`` is the summary of botocore's service model (``EnableCapture``, ``CaptureStatus``
  ``Started``/``Stopped``, ``CurrentSamplingPercentage``, ``DestinationS3Uri``, ``KmsKeyId``: see
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfigSummary.html), left out
  when the endpoint's config has no capture, as SageMaker leaves it out;
* ``CreateEndpointConfig`` keeps ``ShadowProductionVariants`` (moto drops them) after checking their models
  exist, as it checks the production variants', and ``DescribeEndpointConfig`` returns them;
* inference components, which moto lacks: ``CreateInferenceComponent`` (the endpoint must exist, and the
  model when the specification names one), ``DescribeInferenceComponent`` (SageMaker's ``ValidationException``
  "Could not find inference component" for an unknown name), ``ListInferenceComponents`` (pages of
  ``MaxResults``, default 10 as on AWS, with ``NextToken``; ``EndpointNameEquals``) and their tags in the
  Resource Groups Tagging API (``sagemaker:inference-component``). Their documents follow the API reference:
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeInferenceComponent.html

The demo (``auditor demo``, ``auditor demo --serve``), the tests and the benchmarks all run moto through
``running_moto``, which installs this; nothing in the collectors or remediators knows about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

UPDATING_POLLS = 1
_UPDATING = "_auditor_updating_polls"  # describes left that answer Updating, on moto's FakeEndpoint


def install() -> None:
    """Patch moto's SageMaker backend and responses (the caller makes this happen once a process)."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    SageMakerModelBackend.describe_endpoint = _wrap_describe(  # type: ignore[method-assign,assignment]
        SageMakerModelBackend.describe_endpoint)
    SageMakerResponse.update_endpoint = _handle_update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.create_endpoint_config = _with_shadow_variants(  # type: ignore[method-assign,assignment]
        SageMakerResponse.create_endpoint_config)
    SageMakerResponse.create_inference_component = _handle_create_component  # type: ignore[attr-defined]
    SageMakerResponse.describe_inference_component = _handle_describe_component  # type: ignore[attr-defined]
    SageMakerResponse.list_inference_components = _handle_list_components  # type: ignore[attr-defined]
    SageMakerModelBackend.iter_tagged_resources = _with_component_tags(  # type: ignore[method-assign,assignment]
        SageMakerModelBackend.iter_tagged_resources)


def capture_summary(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``DataCaptureConfigSummary`` DescribeEndpoint answers for an endpoint running with capture ``config``
    (an endpoint config's ``DataCaptureConfig``); None when there is no capture configuration."""
    if not config:
        return None
    enabled = bool(config.get("EnableCapture", True))  # CreateEndpointConfig: "defaults to enabled"
    summary: dict[str, Any] = {"EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
                               "CurrentSamplingPercentage": int(config.get("InitialSamplingPercentage") or 0)}
    for key in ("DestinationS3Uri", "KmsKeyId"):
        if config.get(key):
            summary[key] = config[key]
    return summary


def _update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str,
                     retain_all_variant_properties: bool = False) -> Any:
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig

    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService" or getattr(endpoint, _UPDATING, 0) > 0:
        raise ValidationError(message=f"Cannot update in-progress endpoint '{endpoint.arn}'.")
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        arn = FakeEndpointConfig.arn_formatter(endpoint_config_name, self.account_id, self.region_name)
        raise ValidationError(message=f"Could not find endpoint configuration '{arn}'.")
    if not retain_all_variant_properties:
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.data_capture_config = config.data_capture_config
    endpoint.last_modified_time = utcnow()
    setattr(endpoint, _UPDATING, UPDATING_POLLS)
    return endpoint


def _wrap_describe(original: Callable[[Any, str], dict[str, Any]]) -> Callable[[Any, str], dict[str, Any]]:
    def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
        response = dict(original(self, endpoint_name))
        endpoint = self.endpoints[endpoint_name]
        left = getattr(endpoint, _UPDATING, 0)
        if left > 0:
            setattr(endpoint, _UPDATING, left - 1)
            response["EndpointStatus"] = "Updating"
        summary = capture_summary(response.pop("DataCaptureConfig", None))
        if summary is not None:
            response["DataCaptureConfig"] = summary
        return response

    return describe_endpoint


def _handle_update_endpoint(self: Any) -> Any:
    from moto.core.responses import ActionResult

    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


# --- shadow variants ------------------------------------------------------------------------------------


def _with_shadow_variants(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create_endpoint_config(self: Any) -> Any:
        from moto.sagemaker.exceptions import ValidationError
        from moto.sagemaker.utils import arn_formatter

        backend = self.sagemaker_backend
        shadows = self._get_param("ShadowProductionVariants") or []
        for variant in shadows:
            if variant.get("ModelName") not in backend._models:
                arn = arn_formatter("model", str(variant.get("ModelName")), backend.account_id, backend.region_name)
                raise ValidationError(message=f"Could not find model '{arn}'.")
        result = original(self)
        if shadows:
            backend.endpoint_configs[self._get_param("EndpointConfigName")].shadow_production_variants = shadows
        return result

    return create_endpoint_config


# --- inference components --------------------------------------------------------------------------------

_COMPONENTS = "_auditor_inference_components"  # name -> document, on moto's SageMaker backend of a region


def _components(backend: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] | None = getattr(backend, _COMPONENTS, None)
    if found is None:
        found = {}
        setattr(backend, _COMPONENTS, found)
    return found


def _component_arn(backend: Any, name: str) -> str:
    from moto.sagemaker.utils import arn_formatter

    return str(arn_formatter("inference-component", name, backend.account_id, backend.region_name))


def _handle_create_component(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint
    from moto.sagemaker.utils import arn_formatter

    backend = self.sagemaker_backend
    name, endpoint_name = str(self._get_param("InferenceComponentName")), str(self._get_param("EndpointName"))
    components = _components(backend)
    arn = _component_arn(backend, name)
    if name in components:
        raise ValidationError(message=f"Cannot create already existing inference component \"{arn}\".")
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        endpoint_arn = FakeEndpoint.arn_formatter(endpoint_name, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find endpoint \"{endpoint_arn}\".")
    specification = dict(self._get_param("Specification") or {})
    model = specification.get("ModelName")
    if model and model not in backend._models:
        model_arn = arn_formatter("model", str(model), backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find model '{model_arn}'.")
    if isinstance(specification.get("Container"), dict):  # DescribeInferenceComponent names the image deployed
        container = dict(specification["Container"])
        if container.get("Image"):
            container["DeployedImage"] = {"SpecifiedImage": container.pop("Image")}
        specification["Container"] = container
    now = utcnow()
    components[name] = {
        "InferenceComponentName": name, "InferenceComponentArn": arn, "EndpointName": endpoint_name,
        "EndpointArn": endpoint.arn, "VariantName": str(self._get_param("VariantName") or ""),
        "Specification": specification, "RuntimeConfig": {
            "DesiredCopyCount": int((self._get_param("RuntimeConfig") or {}).get("CopyCount", 1)),
            "CurrentCopyCount": int((self._get_param("RuntimeConfig") or {}).get("CopyCount", 1))},
        "CreationTime": now, "LastModifiedTime": now, "InferenceComponentStatus": "InService",
        "_tags": list(self._get_param("Tags") or []),
    }
    return ActionResult({"InferenceComponentArn": arn})


def _handle_describe_component(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = str(self._get_param("InferenceComponentName"))
    found = _components(backend).get(name)
    if found is None:
        raise ValidationError(message=f"Could not find inference component \"{_component_arn(backend, name)}\".")
    return ActionResult({k: v for k, v in found.items() if not k.startswith("_")})


def _handle_list_components(self: Any) -> Any:
    from moto.core.responses import ActionResult

    endpoint = self._get_param("EndpointNameEquals")
    items = [c for _, c in sorted(_components(self.sagemaker_backend).items())
             if endpoint is None or c["EndpointName"] == endpoint]
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or 10)
    summaries = [{k: c[k] for k in ("InferenceComponentName", "InferenceComponentArn", "EndpointName", "EndpointArn",
                                    "VariantName", "InferenceComponentStatus", "CreationTime", "LastModifiedTime")}
                 for c in items[start:start + size]]
    result: dict[str, Any] = {"InferenceComponents": summaries}
    if start + size < len(items):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


def _with_component_tags(original: Callable[[Any], Iterator[Any]]) -> Callable[[Any], Iterator[Any]]:
    def iter_tagged_resources(self: Any) -> Iterator[Any]:
        from moto.core.resource_tagging import TaggedResource

        yield from original(self)
        for component in _components(self).values():
            yield TaggedResource(arn=component["InferenceComponentArn"],
                                 tags={t["Key"]: t["Value"] for t in component["_tags"]},
                                 resource_type="sagemaker:inference-component")

    return iter_tagged_resources
