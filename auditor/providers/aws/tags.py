"""Tags of SageMaker resources through the Resource Groups Tagging API.

One paginated GetResources call per region returns the tags of up to 100 resources a page,
where SageMaker's own ListTags would cost one call per resource. Resources without tags are
not returned by the API; they simply have no tags.
"""

from __future__ import annotations

from typing import Any

from auditor.providers.aws import resource_types as declared

# The filter of every type whose tags this listing reads (its declaration's ``tag_filter``).
RESOURCE_TYPES: tuple[str, ...] = tuple(t.tag_filter for t in declared.TYPES if t.tag_filter)


def fetch_tags(tagging_client: Any) -> dict[str, dict[str, str]]:
    """ARN -> {key: value} for every tagged SageMaker endpoint, endpoint config and model.

    SDK errors become :class:`auditor.providers.aws.session.AwsCallError`, as every other read.
    """
    from auditor.providers.aws.session import pages

    out: dict[str, dict[str, str]] = {}
    for page in pages(tagging_client, "get_resources", ResourceTypeFilters=list(RESOURCE_TYPES),
                      ResourcesPerPage=100):
        for mapping in page.get("ResourceTagMappingList", []):
            out[mapping["ResourceARN"]] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
    return out
