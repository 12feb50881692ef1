"""Amazon Bedrock in moto answers as Bedrock does: guardrails, and custom models' KMS key.

moto (pinned in constraints.txt) implements Bedrock's model invocation logging settings and custom models
(through ``CreateModelCustomizationJob``), but not guardrails, and it gives every custom model a made-up
``modelKmsKeyArn`` (``arn:...:key/<name>-kms-key``) whether or not the job named a key, where Bedrock gives the
key the job named as ``customModelKmsKeyId`` and leaves the field out when there was none. :func:`install`
(called by :func:`auditor.demo.moto_fixes.install`) gives moto's Bedrock backend, in this process:

* ``CreateGuardrail``, ``ListGuardrails`` and ``GetGuardrail`` (the working draft of each guardrail, as
  Bedrock answers without a version), with the guardrail's ``kmsKeyArn`` the ``kmsKeyId`` it was created
  with, left out when there was none, and its tags readable through ``ListTagsForResource``
  (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetGuardrail.html);
* custom models whose ``modelKmsKeyArn`` is the job's ``customModelKmsKeyId``
  (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetCustomModel.html).

The demo, the tests and the benchmarks run moto through ``running_moto``/the test server, which install this;
nothing in the collectors knows about it.
"""

from __future__ import annotations

import hashlib
import json
import string
from datetime import UTC, datetime
from typing import Any

_ALPHABET = string.ascii_lowercase + string.digits


def install() -> None:
    """Patch moto's Bedrock backend and responses (the caller makes this happen once a process)."""
    from moto.bedrock.models import BedrockBackend
    from moto.bedrock.responses import BedrockResponse

    original_create = BedrockBackend.create_model_customization_job
    original_arns = BedrockBackend._list_arns

    def create_model_customization_job(self: Any, *args: Any, **kwargs: Any) -> str:
        job_arn: str = original_create(self, *args, **kwargs)
        model = self.custom_models[kwargs["custom_model_name"]]
        model.model_kms_key_arn = kwargs.get("custom_model_kms_key_id") or None
        return job_arn

    def list_arns(self: Any) -> list[str]:
        return [*original_arns(self), *(g["guardrailArn"] for g in _guardrails(self).values())]

    BedrockBackend.create_model_customization_job = create_model_customization_job  # type: ignore[method-assign]
    BedrockBackend._list_arns = list_arns  # type: ignore[method-assign]
    BedrockResponse.create_guardrail = _handle_create  # type: ignore[attr-defined]
    BedrockResponse.list_guardrails = _handle_list  # type: ignore[attr-defined]
    BedrockResponse.get_guardrail = _handle_get  # type: ignore[attr-defined]


def _guardrails(backend: Any) -> dict[str, dict[str, Any]]:
    """The backend's guardrails by id (created on first use)."""
    store: dict[str, dict[str, Any]] | None = getattr(backend, "_auditor_guardrails", None)
    if store is None:
        store = {}
        backend._auditor_guardrails = store
    return store


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _handle_create(self: Any) -> str:
    from moto.bedrock.exceptions import ResourceInUseException

    backend = self.bedrock_backend
    store = _guardrails(backend)
    name = str(self._get_param("name"))
    if any(g["name"] == name for g in store.values()):
        raise ResourceInUseException(f"Guardrail {name} already exists")
    # Bedrock's ids are 12 lower-case letters and digits; derived from the name here, so a demo seeded twice
    # gets the same ids (and finding ids).
    digest = hashlib.sha256(f"{backend.account_id}:{backend.region_name}:{name}".encode()).digest()
    guardrail_id = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:12])
    arn = f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:guardrail/{guardrail_id}"
    now = _now()
    guardrail: dict[str, Any] = {
        "name": name, "guardrailId": guardrail_id, "guardrailArn": arn, "version": "DRAFT", "status": "READY",
        "blockedInputMessaging": self._get_param("blockedInputMessaging"),
        "blockedOutputsMessaging": self._get_param("blockedOutputsMessaging"),
        "createdAt": now, "updatedAt": now,
    }
    for key in ("description", "contentPolicyConfig", "topicPolicyConfig", "wordPolicyConfig"):
        if self._get_param(key):
            guardrail[key] = self._get_param(key)
    if self._get_param("kmsKeyId"):
        guardrail["kmsKeyArn"] = self._get_param("kmsKeyId")
    store[guardrail_id] = guardrail
    tags = self._get_param("tags")
    if tags:
        backend.tag_resource(arn, tags)
    return json.dumps({"guardrailId": guardrail_id, "guardrailArn": arn, "version": "DRAFT", "createdAt": now})


def _handle_list(self: Any) -> str:
    summaries = [{"id": g["guardrailId"], "arn": g["guardrailArn"], "status": g["status"], "name": g["name"],
                  "version": g["version"], "createdAt": g["createdAt"], "updatedAt": g["updatedAt"],
                  **({"description": g["description"]} if "description" in g else {})}
                 for g in _guardrails(self.bedrock_backend).values()]
    return json.dumps({"guardrails": summaries})


def _handle_get(self: Any) -> str:
    from moto.bedrock.exceptions import ResourceNotFoundException

    identifier = str(self._get_param("guardrailIdentifier"))
    store = _guardrails(self.bedrock_backend)
    guardrail = store.get(identifier) or next((g for g in store.values() if g["guardrailArn"] == identifier), None)
    if guardrail is None:
        raise ResourceNotFoundException(f"Guardrail {identifier} not found")
    return json.dumps(guardrail)
