"""moto lacks UpdateEndpoint; this adds it to the in-process moto backend for tests only.

moto 5.2 answers ``UpdateEndpoint`` with NotImplementedError in-process and HTTP 500 in server mode
(see shared/testing-notes.md), so the SageMaker remediation cannot run end to end without help.
:func:`moto_update_endpoint` patches, for the duration of a ``with`` block:

* ``SageMakerModelBackend.update_endpoint``: the endpoint takes the new config's name, data capture
  settings and (unless ``RetainAllVariantProperties``) its variants, as SageMaker does once an update
  completes; it refuses an endpoint that is not InService and a config that does not exist, with
  SageMaker's ``ValidationException``;
* ``SageMakerModelBackend.describe_endpoint``: after an update the endpoint answers ``Updating`` for
  the next ``UPDATING_POLLS`` describes, then ``InService``, so callers must wait like they do on AWS;
* ``SageMakerResponse.update_endpoint``: the request handler, so the server in this process routes the
  action to the backend.

Because moto server mode in this process shares the patched classes, the real boto3 client, the
auditor's remediation code and the CLI all see an UpdateEndpoint that behaves like SageMaker's. This
module is test code: nothing under ``auditor/`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

UPDATING_POLLS = 1
_UPDATING = "_auditor_test_updating_polls"


def _update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str,
                     retain_all_variant_properties: bool = False) -> FakeEndpoint:
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


def _wrap_describe(original: Any) -> Any:
    def describe_endpoint(self: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        response: dict[str, Any] = original(self, endpoint_name)
        endpoint = self.endpoints[endpoint_name]
        left = getattr(endpoint, _UPDATING, 0)
        if left > 0:
            setattr(endpoint, _UPDATING, left - 1)
            response = {**response, "EndpointStatus": "Updating"}
        return response

    return describe_endpoint


def _handle_update_endpoint(self: SageMakerResponse) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(  # type: ignore[attr-defined]
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties")),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


@contextmanager
def moto_update_endpoint() -> Iterator[None]:
    """Give moto's SageMaker backend (in this process) an UpdateEndpoint, then take it away again."""
    saved = {
        (SageMakerModelBackend, "update_endpoint"): SageMakerModelBackend.__dict__.get("update_endpoint"),
        (SageMakerModelBackend, "describe_endpoint"): SageMakerModelBackend.__dict__["describe_endpoint"],
        (SageMakerResponse, "update_endpoint"): SageMakerResponse.__dict__.get("update_endpoint"),
    }
    SageMakerModelBackend.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    SageMakerModelBackend.describe_endpoint = _wrap_describe(  # type: ignore[method-assign]
        saved[SageMakerModelBackend, "describe_endpoint"])
    SageMakerResponse.update_endpoint = _handle_update_endpoint  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for (cls, name), value in saved.items():
            if value is None:
                delattr(cls, name)
            else:
                setattr(cls, name, value)
