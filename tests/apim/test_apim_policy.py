"""Policies read as XML (safely), the effective policy, routes and the gateway-to-endpoint classification."""

from __future__ import annotations

import time
from typing import Any

import pytest

from auditor.demo.arm_examples import example_body, example_items
from auditor.model import Resource
from auditor.providers.azure.apim import backend_credentials, redact_apim
from auditor.providers.azure.apim_links import (
    PolicyError,
    api_routes,
    clean_url,
    effective_policy,
    fronts_of,
    parse_policy,
)

SERVICE = """<policies><inbound><validate-azure-ad-token tenant-id="t" /><rate-limit calls="5" renewal-period="1" />
</inbound><backend><set-backend-service base-url="https://svc.example.com/x?sig=abc" /><forward-request /></backend>
<outbound /><on-error /></policies>"""


def test_the_official_example_policy_parses() -> None:
    facts = parse_policy(example_body("ApiManagementGetApiPolicy.json")["properties"]["value"])
    assert {hit.tag for hit in facts.hits} == {"quota-by-key"}
    assert dict(facts.base) == {"inbound": False, "backend": False, "outbound": False}


@pytest.mark.parametrize("xml, reason", [
    ('<!DOCTYPE policies><policies />', "document type declaration"),
    ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]><policies>&e;</policies>',
     "document type declaration"),
    ('<policies><inbound>&undefined;</inbound></policies>', "undefined entity"),
    ("<policies><inbound></policies>", "mismatched tag"),
    ("", "no element found"),
    ("not xml at all", "syntax error"),
    ("<policy><inbound /></policy>", "not <policies>"),
])
def test_unsafe_or_malformed_policies_are_rejected(xml: str, reason: str) -> None:
    with pytest.raises(PolicyError, match=reason):
        parse_policy(xml)


def test_a_billion_laughs_is_rejected_before_any_expansion() -> None:
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<!DOCTYPE policies [<!ENTITY l0 "lol">{entities}]><policies><inbound>&l9;</inbound></policies>'
    started = time.perf_counter()
    with pytest.raises(PolicyError, match="rejected, not expanded"):
        parse_policy(bomb)
    assert time.perf_counter() - started < 0.5


def test_effective_policy_inherits_per_section_where_base_is_kept() -> None:
    service = parse_policy(SERVICE)
    none = effective_policy(None, None)
    assert (none["source"], none["validates_token"], none["base_urls"]) == ("none", False, [])
    only_service = effective_policy(None, service)
    assert only_service["source"] == "service" and only_service["validates_token"]
    assert only_service["base_urls"] == ["https://svc.example.com/x"] and only_service["rate_limited"]

    backend_only = parse_policy("<policies><inbound /><backend><base /></backend></policies>")
    mixed = effective_policy(backend_only, service)
    assert mixed["source"] == "api+service" and not mixed["validates_token"] and not mixed["rate_limited"]
    assert mixed["base_urls"] == ["https://svc.example.com/x"]

    own = parse_policy('<policies><inbound><validate-jwt header-name="Authorization" /></inbound></policies>')
    assert effective_policy(own, service) == {
        "validates_token": True, "source": "api", "backend_ids": [], "base_urls": [], "rate_limited": False,
        "fragments": [], "token_policies": [{"policy": "validate-jwt", "section": "inbound", "scope": "api",
                                             "conditional": False}]}


def test_conditional_or_outbound_token_validation_does_not_protect() -> None:
    choose = parse_policy("""<policies><inbound><choose><when condition="@(context.Request.Headers.ContainsKey(
        &quot;X-Internal&quot;))"><validate-jwt header-name="Authorization" /></when></choose></inbound></policies>""")
    facts = effective_policy(choose, None)
    assert not facts["validates_token"] and facts["token_policies"][0]["conditional"]
    outbound = parse_policy("<policies><outbound><validate-azure-ad-token tenant-id='t' /></outbound></policies>")
    assert not effective_policy(outbound, None)["validates_token"]
    conditional_base = parse_policy("<policies><inbound><choose><when condition='@(true)'><base /></when>"
                                    "</choose></inbound></policies>")
    inherited = effective_policy(conditional_base, parse_policy(SERVICE))
    assert not inherited["validates_token"] and inherited["token_policies"][0]["conditional"]


def test_policy_expressions_and_fragments_are_recorded_not_evaluated() -> None:
    facts = effective_policy(parse_policy(
        '<policies><inbound><include-fragment fragment-id="auth" />'
        '<set-backend-service backend-id="@(context.Variables[&quot;b&quot;])" />'
        '<set-backend-service base-url="{{ml-endpoint}}/score?key=1" /></inbound></policies>'), None)
    assert facts["fragments"] == ["auth"]
    assert facts["backend_ids"] == ["<policy expression>"] and facts["base_urls"] == ["{{ml-endpoint}}/score"]
    routes, unresolved = api_routes({"properties": {}}, facts, {})
    assert routes == [] and len(unresolved) == 2


def test_routes_resolve_backends_and_pools() -> None:
    service = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/gw"
    backends: dict[str, dict[str, Any]] = {"ml": {"properties": {"url": "https://ML.westeurope.inference.ml.azure.com/score"}},
                "pool": {"properties": {"type": "Pool", "pool": {"services": [{"id": f"{service}/backends/ml"},
                                                                                {"id": f"{service}/backends/gone"}]}}}}
    policy = {"backend_ids": ["pool", "missing"], "base_urls": []}
    routes, unresolved = api_routes({"properties": {"serviceUrl": "https://user:pw@api.example.com/v1?x=1"}},
                                    policy, backends)
    assert unresolved == []
    assert routes == [{"via": "serviceUrl", "url": "https://api.example.com/v1"},
                      {"via": "backend:pool", "url": "https://ml.westeurope.inference.ml.azure.com/score"},
                      {"via": "backend:missing", "url": None, "note": "the service has no such backend"}]
    _, unresolved = api_routes({"properties": {}}, policy, None)
    assert all("backends were not listed" in reason for reason in unresolved) and len(unresolved) == 2


def test_endpoint_classification() -> None:
    endpoint = Resource(id="/x/onlineEndpoints/k8s", type="azure.ml.online_endpoint", provider="azure", account="s",
                        region="westeurope", name="k8s", document={})
    hosts = {"10.1.2.3": endpoint}
    routes: list[dict[str, Any]] = [{"via": "serviceUrl", "url": "https://10.1.2.3/api/v1/endpoint/k8s/score"},
              {"via": "base-url", "url": "https://scorer.eastus2.inference.ml.azure.com/score"},
              {"via": "base-url", "url": "https://runtime-fips.sagemaker.us-gov-west-1.amazonaws.com/endpoints/a%20b"},
              {"via": "backend:vpce", "url": "https://vpce-1.runtime.sagemaker.eu-west-1.vpce.amazonaws.com"},
              {"via": "backend:other", "url": "https://inference.ml.azure.com.evil.example/score"},
              {"via": "backend:none", "url": None}]
    assert [(f["kind"].split(".")[0], f["id"], f["name"], f["host"]) for f in fronts_of(routes, hosts, {})] == [
        ("azure", "/x/onlineEndpoints/k8s", "k8s", "10.1.2.3"),
        ("azure", None, "scorer", "scorer.eastus2.inference.ml.azure.com"),
        ("aws", None, "a b", "runtime-fips.sagemaker.us-gov-west-1.amazonaws.com"),
        ("aws", None, None, "vpce-1.runtime.sagemaker.eu-west-1.vpce.amazonaws.com")]


def test_clean_url_keeps_no_credentials() -> None:
    assert clean_url("HTTPS://u:p@Host.Example.com:8443/a/b?sig=x#frag") == "https://host.example.com:8443/a/b"
    assert clean_url("fabric:/app/service") is None
    assert clean_url("http://[::1") is None


def test_backend_redaction_of_the_official_example() -> None:
    proxy = example_items("ApiManagementListBackends.json")[0]
    assert backend_credentials(proxy) == {"header_names": ["x-my-1"], "query_names": ["sv"], "certificate": False,
                                          "authorization_scheme": "Basic"}
    redacted = redact_apim(proxy)["properties"]
    assert redacted["credentials"] == {"query": {"sv": ["<redacted>"] * 3}, "header": {"x-my-1": ["<redacted>"] * 2},
                                       "authorization": {"scheme": "Basic", "parameter": "<redacted>"}}
    assert redacted["proxy"]["password"] == "<redacted>" and proxy["properties"]["proxy"]["password"] == "<password>"
    certificate = {"properties": {"credentials": {"certificateIds": ["/x/certificates/c"]},
                                  "hostnameConfigurations": [{"certificatePassword": "pfx-pass", "hostName": "h"}]}}
    assert backend_credentials(certificate)["certificate"] is True
    assert redact_apim(certificate)["properties"]["hostnameConfigurations"][0]["certificatePassword"] == "<redacted>"
