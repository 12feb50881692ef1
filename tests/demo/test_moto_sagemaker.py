"""moto's SageMaker as the demo serves it: UpdateEndpoint, and DescribeEndpoint's DataCaptureConfigSummary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from auditor.demo.moto_server import aws_environment, running_moto

ROLE = "arn:aws:iam::123456789012:role/sm-exec"
CAPTURE = {"EnableCapture": True, "InitialSamplingPercentage": 30, "DestinationS3Uri": "s3://cap/fraud",
           "KmsKeyId": "alias/capture", "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}


@pytest.fixture(scope="module")
def sagemaker() -> Iterator[Any]:
    with running_moto() as url, aws_environment(url):
        client = boto3.client("sagemaker")
        client.create_model(ModelName="m", ExecutionRoleArn=ROLE,
                            PrimaryContainer={"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"})
        for name, capture in (("plain", None), ("captured", CAPTURE), ("paused", {**CAPTURE, "EnableCapture": False})):
            extra = {"DataCaptureConfig": capture} if capture else {}
            client.create_endpoint_config(EndpointConfigName=name, **extra, ProductionVariants=[
                {"VariantName": "main", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
            client.create_endpoint(EndpointName=f"ep-{name}", EndpointConfigName=name)
        yield client


def _summary_keys() -> set[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("DescribeEndpoint").output_shape.members["DataCaptureConfig"]
    return set(shape.members)


def test_describe_endpoint_answers_the_capture_summary_sagemaker_answers(sagemaker: Any) -> None:
    captured = sagemaker.describe_endpoint(EndpointName="ep-captured")["DataCaptureConfig"]
    assert captured == {"EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 30,
                        "DestinationS3Uri": "s3://cap/fraud", "KmsKeyId": "alias/capture"}
    assert set(captured) == _summary_keys()  # exactly the DataCaptureConfigSummary of the service model
    paused = sagemaker.describe_endpoint(EndpointName="ep-paused")["DataCaptureConfig"]
    assert (paused["EnableCapture"], paused["CaptureStatus"]) == (False, "Stopped")
    assert "DataCaptureConfig" not in sagemaker.describe_endpoint(EndpointName="ep-plain")
    # the endpoint config itself is unchanged: DescribeEndpointConfig answers the config as created
    assert sagemaker.describe_endpoint_config(EndpointConfigName="captured")["DataCaptureConfig"] == CAPTURE


def test_update_endpoint_moves_it_to_the_new_config_and_reports_updating_once(sagemaker: Any) -> None:
    arn = sagemaker.update_endpoint(EndpointName="ep-plain", EndpointConfigName="captured")["EndpointArn"]
    assert arn.endswith(":endpoint/ep-plain")
    with pytest.raises(ClientError, match="in-progress"):  # SageMaker refuses an update of an updating endpoint
        sagemaker.update_endpoint(EndpointName="ep-plain", EndpointConfigName="plain")
    first, second = (sagemaker.describe_endpoint(EndpointName="ep-plain") for _ in range(2))
    assert (first["EndpointStatus"], second["EndpointStatus"]) == ("Updating", "InService")
    assert second["EndpointConfigName"] == "captured"
    assert second["DataCaptureConfig"]["CaptureStatus"] == "Started"
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="ep-plain", WaiterConfig={"Delay": 0})
    sagemaker.update_endpoint(EndpointName="ep-plain", EndpointConfigName="plain", RetainAllVariantProperties=True)
    sagemaker.describe_endpoint(EndpointName="ep-plain")
    back = sagemaker.describe_endpoint(EndpointName="ep-plain")
    assert back["EndpointConfigName"] == "plain" and "DataCaptureConfig" not in back


def test_update_endpoint_refuses_what_sagemaker_refuses(sagemaker: Any) -> None:
    with pytest.raises(ClientError, match="Could not find endpoint configuration") as missing_config:
        sagemaker.update_endpoint(EndpointName="ep-paused", EndpointConfigName="no-such-config")
    assert missing_config.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sagemaker.update_endpoint(EndpointName="no-such-endpoint", EndpointConfigName="plain")
