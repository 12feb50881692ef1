"""Resource types as declared data: what each provider's ``resource_types.py`` is made of.

Modelled on Cloud Custodian's resource specs: a type names its id, the coverage row it is counted in, the calls
that list it and those that read each one (c7n's ``enum_spec`` and ``detail_spec``), and the calls the provider's
:class:`~auditor.providers.Connection` makes to read it again at apply. From these declarations come the scan's
least-privilege policy (``auditor permissions <cloud>``), the resource types of each coverage row, and, for a
type listed and described the common way, the collector's own table (:class:`Paging`).

A call is written the way its provider authorizes it from: AWS ``service:Operation`` with botocore's service
name (``s3control:GetPublicAccessBlock``), Azure ``METHOD Namespace/type`` (``GET
Microsoft.MachineLearningServices/workspaces``). Each provider's ``resource_types.py`` turns calls into the
actions its policy grants; a test records every call the code makes in the test runs and checks it was declared.
Nothing here imports a cloud SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Paging:
    """How a type listed page by page and described one by one is read (c7n's enum and detail specs).

    ``result_key``: the list answer's key holding the items; ``name_key`` and ``id_key``: each item's name and
    id (ARN); ``name_param``: the describe call's parameter naming the item.
    """

    result_key: str
    name_key: str
    id_key: str
    name_param: str
    # The item's key whose value the describe call takes as ``name_param`` (its name when empty).
    param_key: str = ""
    page_size: int = 100  # the list call's page size (its paginator's PageSize)
    tags: Tags | None = None  # a call reading each item's tags, for a type the tagging API does not read


@dataclass(frozen=True)
class Tags:
    """A per-resource tag read: ``call`` takes the item's ARN as ``arn_param`` and answers the tags under
    ``result_key``, as a list of ``{key_field: .., value_field: ..}`` or (``key_field`` empty) a mapping."""

    call: str
    arn_param: str
    result_key: str
    key_field: str = ""
    value_field: str = ""


@dataclass(frozen=True)
class Settings:
    """A type with one resource per account and region, read by its first ``describe`` call with no argument
    (a service's regional settings). ``resource``: the resource part of its ARN
    (``arn:<partition>:<service>:<region>:<account>:<resource>``), also its name."""

    resource: str


@dataclass(frozen=True)
class ResourceType:
    """One resource type a provider collects.

    ``id``: the finding's ``resource_type`` (rules name it). ``coverage``: the ``service`` of the coverage row
    that counts it. ``list``: the calls that find its resources; ``describe``: the calls that read each one
    (tags and the sub-reads behind ``related`` included); ``live``: the calls reading one again at apply (verify
    and stale checks), empty when the provider does not read it back. ``paging``: set when the first ``list``
    call pages through the resources and the first ``describe`` call reads one, as the generic regional
    collector (:mod:`auditor.providers.aws.regional`) does for a type of any service. ``settings``: set
    instead for a type read once per region by its first ``describe`` call.
    ``tag_filter``: AWS, the Resource Groups Tagging API's filter for the type, when its tags are read that way.
    """

    id: str
    coverage: str
    list: tuple[str, ...] = ()
    describe: tuple[str, ...] = ()
    live: tuple[str, ...] = ()
    paging: Paging | None = None
    tag_filter: str = ""
    settings: Settings | None = None

    @property
    def calls(self) -> tuple[str, ...]:
        """Every call the scan makes for this type."""
        return (*self.list, *self.describe)


def ids(types: Iterable[ResourceType], coverage: str | None = None) -> tuple[str, ...]:
    """The ids of ``types`` (those counted in the ``coverage`` row when given), in declaration order."""
    return tuple(t.id for t in types if coverage is None or t.coverage == coverage)


def scan_calls(types: Iterable[ResourceType], provider_calls: Iterable[str] = ()) -> tuple[str, ...]:
    """Every call a scan makes: the provider's own (identity, discovery) and each type's, first seen first."""
    found = dict.fromkeys(provider_calls)
    for resource_type in types:
        found.update(dict.fromkeys(resource_type.calls))
    return tuple(found)


def by_id(types: Iterable[ResourceType], type_id: str) -> ResourceType:
    """The declared type ``type_id``; KeyError naming it when it is not declared."""
    for resource_type in types:
        if resource_type.id == type_id:
            return resource_type
    raise KeyError(f"resource type '{type_id}' is not declared")
