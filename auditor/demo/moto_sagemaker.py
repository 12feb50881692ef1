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
  when the endpoint's config has no capture, as SageMaker leaves it out.

The demo (``auditor demo``, ``auditor demo --serve``), the tests and the benchmarks all run moto through
``running_moto``, which installs this; nothing in the collectors or remediators knows about it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
