"""The demo estate served on loopback: scanned by ``auditor demo``, kept up by ``auditor demo --serve``.

:func:`serving_demo` starts moto (Northwind's SageMaker estate, with the fixes of ``moto_fixes``: UpdateEndpoint
among them) and the Resource Manager stand-in (Northwind's Azure ML estate and API Management gateway, HTTPS
with a throwaway CA), writes the fake ``az`` into a temporary directory, and yields a :class:`DemoSandbox`:
where everything is, and the environment that points the standard credential and endpoint chains of boto3
and azure-identity at it (and nowhere else). Leaving the block stops both servers and removes the temporary
directories (the CA's included).

:func:`demo_azure_environment` is the Azure part of that environment, for tests that serve the stand-in alone.
:func:`export_lines` renders that environment as the ``export``/``unset`` lines a POSIX shell sources;
:func:`sandbox_document` as the JSON ``--port-file`` writes for scripts (``PORT_FILE_VERSION``).
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PORT_FILE_VERSION = 1
# What makes azure-identity's DefaultAzureCredential (``--credential default``) use the Azure CLI credential
# only, so that it runs the fake ``az`` and never probes a managed-identity endpoint or a real login.
_AZURE_CLI_ONLY = {"AZURE_TOKEN_CREDENTIALS": "AzureCliCredential"}
# Unset in the shell whether or not the serving process had them: credentials azure-identity would otherwise
# pick up (``--credential environment``, ``workload-identity``, ``managed-identity``) or an authority elsewhere.
_AZURE_UNSET = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
                "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_SUBSCRIPTION_ID", "CURL_CA_BUNDLE")


# Variables that could send the demo's Azure scan elsewhere than the stand-in, or bring in a real identity.
_AZURE_CLEARED = ("AUDITOR_ARM_ENDPOINT", "CURL_CA_BUNDLE")


def demo_azure_environment(ca_bundle: str, az_dir: str) -> dict[str, str | None]:
    """The variables a scan of the Resource Manager stand-in runs with (None: unset), in this process or a child.

    The fake ``az`` in ``az_dir`` comes first on PATH (``AzureCliCredential`` runs it instead of any real
    CLI), ``AZURE_CONFIG_DIR`` is an empty directory (so no real ``az`` login could be read), every other
    ``AZURE_*`` variable is unset, the stand-in's CA is trusted through ``REQUESTS_CA_BUNDLE``, and
    loopback bypasses any proxy.
    """
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AZURE_")}
    env.update(dict.fromkeys(_AZURE_CLEARED))
    kept = f"{os.environ.get('NO_PROXY', '')},{os.environ.get('no_proxy', '')}".split(",")
    no_proxy = ",".join(dict.fromkeys(["127.0.0.1", "localhost", *filter(None, kept)]))
    config = Path(az_dir, "azure-config")
    config.mkdir(parents=True, exist_ok=True)
    env.update({"PATH": os.pathsep.join(filter(None, [az_dir, os.environ.get("PATH")])),
                "AZURE_CONFIG_DIR": str(config), "REQUESTS_CA_BUNDLE": ca_bundle,
                "NO_PROXY": no_proxy, "no_proxy": no_proxy})
    return env


@dataclass(frozen=True)
class DemoSandbox:
    """Where the served demo estate is, and the environment a process needs to reach it (and only it).

    ``environment``: variables to set (a value) or unset (None), PATH excepted: ``bin_dir`` (which holds the
    fake ``az``) goes first on PATH.
    """

    aws_endpoint: str
    arm_endpoint: str
    ca_bundle: str
    bin_dir: str
    aws_regions: tuple[str, ...]
    subscriptions: tuple[str, ...]
    environment: Mapping[str, str | None]

    def changes(self, path: str | None) -> dict[str, str | None]:
        """The environment as changes (None unsets) to a process whose PATH is ``path``."""
        return {**self.environment, "PATH": os.pathsep.join(filter(None, [self.bin_dir, path]))}

    def process_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` (e.g. ``os.environ``) changed as a shell that sourced :func:`export_lines` would be."""
        changes = self.changes(base.get("PATH"))
        merged = {k: v for k, v in base.items() if k not in changes}
        merged.update({k: v for k, v in changes.items() if v is not None})
        return merged


@contextmanager
def serving_demo() -> Iterator[DemoSandbox]:
    """Serve both demo estates on 127.0.0.1 until the block ends (then stop them and remove their files).

    Needs the demo extra (moto, cryptography): an ImportError says which module is missing.
    """
    from auditor.demo.ai_estate import build_ai_estate, northwind_ai_spec
    from auditor.demo.apim_estate import build_gateway
    from auditor.demo.arm_server import ArmServer
    from auditor.demo.aws_northwind import seed_demo_estate
    from auditor.demo.azure_northwind import seed_azure_demo
    from auditor.demo.fake_az import write_fake_az
    from auditor.demo.moto_server import demo_environment, running_moto

    with running_moto() as endpoint, ArmServer([]) as arm, \
            tempfile.TemporaryDirectory(prefix="auditor-demo-az-") as az_dir:
        write_fake_az(az_dir)
        aws = seed_demo_estate(endpoint)
        azure = seed_azure_demo(arm)
        # Northwind's gateway fronts Azure ML endpoints and a SageMaker endpoint of the AWS estate.
        arm.add_resources(build_gateway(azure.subscriptions[0], list(azure.documents), aws.regions[0],
                                        {"env": "prod", "team": "ml-platform"}))
        # Azure AI Services / OpenAI accounts, one of them behind that gateway.
        prod, dev = azure.subscriptions[:2]
        arm.add_resources(build_ai_estate(northwind_ai_spec(prod, dev, {"team": "ai-platform"})).documents)
        environment = {**dict.fromkeys(_AZURE_UNSET), **demo_environment(endpoint, aws.regions[0]),
                       **demo_azure_environment(arm.ca_bundle, az_dir), "AUDITOR_ARM_ENDPOINT": arm.url,
                       **_AZURE_CLI_ONLY}
        environment.pop("PATH", None)  # prepended to, not replaced: see DemoSandbox.bin_dir
        yield DemoSandbox(aws_endpoint=endpoint, arm_endpoint=arm.url, ca_bundle=arm.ca_bundle, bin_dir=az_dir,
                          aws_regions=tuple(aws.regions), subscriptions=tuple(azure.subscriptions),
                          environment=environment)


def export_lines(sandbox: DemoSandbox) -> list[str]:
    """POSIX shell lines that point a shell's ``auditor`` (and aws, boto3, azure-identity) at the sandbox."""
    lines = [f"unset {name}" for name, value in sorted(sandbox.environment.items()) if value is None]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(sandbox.environment.items())
              if value is not None]
    lines.append(f'export PATH={shlex.quote(sandbox.bin_dir)}:"$PATH"')
    return lines


def sandbox_document(sandbox: DemoSandbox, pid: int) -> dict[str, Any]:
    """What ``--port-file`` holds (JSON): the endpoints, the environment, and the serving process id."""
    return {
        "version": PORT_FILE_VERSION,
        "pid": pid,
        "aws_endpoint": sandbox.aws_endpoint,
        "aws_regions": list(sandbox.aws_regions),
        "arm_endpoint": sandbox.arm_endpoint,
        "ca_bundle": sandbox.ca_bundle,
        "subscriptions": list(sandbox.subscriptions),
        "set": {k: v for k, v in sorted(sandbox.environment.items()) if v is not None},
        "unset": sorted(k for k, v in sandbox.environment.items() if v is None),
        "path_prepend": sandbox.bin_dir,
    }
