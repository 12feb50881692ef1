"""Make moto's IAM enforcement check the action AWS checks, whatever moto calls it.

moto names some actions its own way, and the names change between patch releases: for the S3
GetBucketEncryption call 5.2.5 checked ``s3:ListBucket``, 5.2.6 ``s3:GetBucketEncryption``; AWS
checks ``s3:GetEncryptionConfiguration``. A least-privilege test granting the printed policy must
not depend on that spelling, and the printed policy must never carry moto's.

:func:`install` wraps moto's authorization check (in this process: the tests' moto server is a
``ThreadedMotoServer``) so that, before the policy is evaluated, the action is recomputed from the
request itself: its signing service, method and path. The table below holds the requests whose
AWS action differs from moto's guess; every other request keeps moto's action, with the signing
name mapped to the IAM service prefix (the tagging API signs as ``tagging``, IAM calls it ``tag``).
An S3 request that the table does not know is checked as ``s3:Unmapped(<method> <path>)``, which
no policy grants: a test that makes a new S3 call under enforcement fails naming the request. It also
makes moto answer a denied JSON-protocol call in JSON, as AWS does (the collectors know no moto spelling),
and makes moto check the signature of a bodiless request (Bedrock's REST-JSON reads) over what was signed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.iam import access_control

# IAM service prefixes that differ from the SigV4 signing name.
_PREFIX = {"tagging": "tag"}

# S3 (and S3 Control, which signs as "s3") requests: (method, path pattern, query parameter) -> action.
_S3: tuple[tuple[str, re.Pattern[str], str | None, str], ...] = (
    ("GET", re.compile(r"^/v20180820/configuration/publicAccessBlock$"), None, "s3:GetAccountPublicAccessBlock"),
    ("GET", re.compile(r"^/[^/]+/?$"), "encryption", "s3:GetEncryptionConfiguration"),
    ("GET", re.compile(r"^/[^/]+/?$"), "publicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("GET", re.compile(r"^/[^/]+/?$"), "location", "s3:GetBucketLocation"),
    ("GET", re.compile(r"^/[^/]+/?$"), "tagging", "s3:GetBucketTagging"),
    # the fixes' writes (tests/remediate): a delete is authorized as the put
    ("PUT", re.compile(r"^/[^/]+/?$"), "encryption", "s3:PutEncryptionConfiguration"),
    ("DELETE", re.compile(r"^/[^/]+/?$"), "encryption", "s3:PutEncryptionConfiguration"),
    ("PUT", re.compile(r"^/[^/]+/?$"), "publicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("DELETE", re.compile(r"^/[^/]+/?$"), "publicAccessBlock", "s3:PutBucketPublicAccessBlock"),
)


def aws_action(service: str, method: str, path: str, moto_action: str) -> str:
    """The IAM action AWS authorizes this request with."""
    if service != "s3":
        name = moto_action.split(":", 1)[1]
        return f"{_PREFIX.get(service, service)}:{name}"
    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    for verb, pattern, parameter, action in _S3:
        if verb == method and pattern.match(parts.path) and (parameter is None or parameter in query):
            return action
    return f"s3:Unmapped({method} {path})"



def install() -> Callable[[], None]:
    """Patch moto's check in this process; returns the function that restores it.

    Also makes a denial of a JSON-protocol call (SageMaker, KMS, the tagging API) answer as AWS does:
    moto answers it with its XML error document, which botocore cannot parse (the code becomes "403",
    the message the XML); AWS answers ``{"__type": "AccessDeniedException", "message": ...}``-style JSON.
    """
    original: Callable[..., None] = access_control.IAMRequestBase.check_action_permitted
    authorize: Callable[..., None] = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
    rebuild: Callable[..., Any] = access_control.IAMRequestBase._create_aws_request

    def create_aws_request(self: Any) -> Any:
        # moto recomputes the signature of a bodiless request (a REST-JSON GET: Bedrock's reads) over its
        # request headers as if they were a form body, so no such request ever matches: sign what was sent.
        request = rebuild(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    def check_action_permitted(self: Any, resource: str) -> None:
        self._action = aws_action(self._service, self._method, self._path, self._action)
        original(self, resource)

    def authorize_in_protocol(self: Any, resource: str = "*") -> None:
        try:
            authorize(self, resource)
        except JsonRESTError:
            raise
        except _RESTError as exc:
            if not str(self.headers.get("Content-Type", "")).startswith("application/x-amz-json"):
                raise
            raise exc.to_json() from exc

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    access_control.IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize_in_protocol  # type: ignore[method-assign]

    def restore() -> None:
        access_control.IAMRequestBase.check_action_permitted = original  # type: ignore[method-assign]
        access_control.IAMRequestBase._create_aws_request = rebuild  # type: ignore[method-assign]
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]

    return restore
