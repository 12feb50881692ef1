"""Where moto differs from AWS in ways the collectors must not have to know: fixed here, for the demo and the tests.

The collectors are written against AWS's behaviour. moto (pinned in constraints.txt) differs in a few
answers; rather than teach the collectors moto's spelling, the servers the demo, the tests and the
benchmarks run are corrected, in this process, before they answer:

* :func:`install`: the Resource Groups Tagging API's ``GetResources`` names a SageMaker endpoint config by
  the repr of a 1-tuple (``"('arn:aws:sagemaker:...',)"``; moto 5.2 stores that config's ``arn`` as a
  tuple), where AWS gives the ARN. The fix yields the ARN itself, so the config's tags are found.
* :func:`auditor.demo.moto_sagemaker.install`: SageMaker's ``UpdateEndpoint``, which moto lacks, and
  DescribeEndpoint's ``DataCaptureConfig`` summary (``CaptureStatus``, ``CurrentSamplingPercentage``) as
  SageMaker answers it, so every automatic fix can be rehearsed against the demo (``auditor demo --serve``);
  and endpoint configs' ``ShadowProductionVariants`` and inference components, which moto drops or lacks.
* :func:`auditor.demo.moto_bedrock.install`: Bedrock guardrails, which moto lacks, and custom models' KMS key
  as the customization job named it (moto makes one up).

Installing is idempotent and lasts for the process: the fixes only make moto answer as AWS does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from auditor.demo import moto_bedrock, moto_sagemaker

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Apply every fix to moto in this process (once; later calls do nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        _tagging_arns()
        moto_sagemaker.install()
        moto_bedrock.install()
        _installed = True


def _tagging_arns() -> None:
    from moto.core.resource_tagging import TaggedResource
    from moto.sagemaker.models import SageMakerModelBackend

    original: Callable[[Any], Iterator[TaggedResource]] = SageMakerModelBackend.iter_tagged_resources

    def iter_tagged_resources(self: Any) -> Iterator[TaggedResource]:
        for resource in original(self):
            arn: Any = resource.arn
            yield replace(resource, arn=str(arn[0])) if isinstance(arn, tuple) and len(arn) == 1 else resource

    SageMakerModelBackend.iter_tagged_resources = iter_tagged_resources  # type: ignore[method-assign]
