"""How apply and rollback reach the clouds: the scan's provider options, built lazily, once per run.

A plan touching only Azure never builds an AWS session (and the reverse). A provider that cannot be
set up (no credentials, SDK missing) fails the steps that need it, each with the reason, rather than
stopping the run: the other provider's steps still apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.remediate.model import StepFailed

if TYPE_CHECKING:
    import boto3
    from azure.core.credentials import TokenCredential

    from auditor.remediate.aws import AwsContext
    from auditor.remediate.azure import AzureContext


@dataclass(frozen=True)
class ProviderOptions:
    """The provider options of ``scan`` (``--profile``, ``--credential``, ``--arm-endpoint``) and timing.

    ``aws_session`` and ``azure_credential`` replace the ones the options name (tests, embedding).
    ``poll_seconds`` is the first wait between status polls (doubling up to ``max_poll_seconds``);
    ``wait_timeout`` bounds how long one endpoint update or long-running operation may take.
    """

    profile: str | None = None
    credential: str = "default"
    arm_endpoint: str | None = None
    aws_session: boto3.Session | None = None
    azure_credential: TokenCredential | None = None
    poll_seconds: float = 0.2
    max_poll_seconds: float = 30.0
    wait_timeout: float = 3600.0


class Providers:
    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self._aws: AwsContext | None = None
        self._azure: AzureContext | None = None
        self._aws_error: str | None = None
        self._azure_error: str | None = None

    @property
    def aws(self) -> AwsContext:
        if self._aws is None:
            if self._aws_error is not None:
                raise StepFailed(self._aws_error)
            from auditor.remediate.aws import AwsContext

            try:
                self._aws = AwsContext(self.options)
            except StepFailed as exc:
                self._aws_error = str(exc)
                raise
        return self._aws

    @property
    def azure(self) -> AzureContext:
        if self._azure is None:
            if self._azure_error is not None:
                raise StepFailed(self._azure_error)
            from auditor.remediate.azure import AzureContext

            try:
                self._azure = AzureContext(self.options)
            except StepFailed as exc:
                self._azure_error = str(exc)
                raise
        return self._azure

    def close(self) -> None:
        if self._azure is not None:
            self._azure.close()
            self._azure = None
        self._aws = None
