"""Whose each finding is: the value of the owner tag (``--owner-tag``, default ``owner``) on the finding's resource.

The owner is read from the resource's own tags when the scan runs and recorded on every finding
(``Finding.owner``; findings.json's ``owner``):

- ``owned``: the resource carries the tag with a value (surrounding spaces dropped);
- ``unowned``: its tags were read and it carries no such tag, or an empty one. Never a guess: tags are not
  inherited from a parent (an Azure deployment does not take its endpoint's tags, nor a SageMaker config its
  endpoint's), because neither cloud inherits them and the parent's owner need not be the part's;
- ``unknown``: its tags could not be read (access denied, the resource itself unreadable, a scope-level ERROR
  finding whose resources could not be listed), or two spellings of the tag disagree. Unknown is never shown
  as a fact.

Tag names compare case-insensitively (``Owner``, ``OWNER`` and ``owner`` are one tag), as Azure compares them
and as people write them. AWS tag keys are case-sensitive, so a resource may carry several spellings: the one
spelled exactly as ``--owner-tag`` wins; without it, spellings that agree give their value, spellings that
disagree leave the owner unknown. Tag values are the collectors' (redacted like every tag: a value that looks
like a secret is ``<redacted>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from auditor.errors import ConfigError
from auditor.identity import resource_key
from auditor.model import Finding, Owner, OwnerState, Resource

DEFAULT_OWNER_TAG = "owner"
MAX_TAG_NAME = 512  # Azure's limit on a tag name (AWS: 128)
UNOWNED = Owner(OwnerState.UNOWNED)
UNREADABLE = Owner(OwnerState.UNKNOWN, reason="the resource could not be read")
NOT_LISTED = Owner(OwnerState.UNKNOWN, reason="the resource is not in the inventory (its scope could not be listed)")


def check_tag_name(name: str) -> str:
    """``name`` as an owner tag name; ConfigError (exit 3) naming ``--owner-tag`` when no tag can have it."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_TAG_NAME or any(not c.isprintable() for c in stripped):
        raise ConfigError(f"not a tag name: {name!r} (1 to {MAX_TAG_NAME} printable characters)",
                          field="--owner-tag")
    return stripped


def resolve(resource: Resource | None, tag: str) -> Owner:
    """The owner of ``resource`` by tag ``tag`` (see the module)."""
    if resource is None:
        return NOT_LISTED
    if "*" in resource.unreadable:
        return UNREADABLE
    if "tags" in resource.unreadable:
        return Owner(OwnerState.UNKNOWN, reason=f"its tags could not be read: {resource.unreadable['tags']}")
    wanted = tag.casefold()
    spellings = {str(k): str(v).strip() for k, v in resource.tags.items() if str(k).casefold() == wanted}
    if tag in spellings:
        key = tag
    elif len(set(spellings.values())) > 1:
        return Owner(OwnerState.UNKNOWN, reason="its tags " + ", ".join(sorted(spellings)) + " disagree")
    elif spellings:
        key = min(spellings)
    else:
        return UNOWNED
    value = spellings[key]
    return Owner(OwnerState.OWNED, value=value, tag=key) if value else UNOWNED


def assign(findings: Iterable[Finding], resources: Iterable[Resource], tag: str) -> tuple[Finding, ...]:
    """``findings``, each with the owner of its resource (matched by type and id, Azure ids in any case)."""
    by_key: dict[tuple[str, str, str], Resource] = {}
    for r in resources:
        by_key.setdefault((r.provider, r.type, resource_key(r.provider, r.id)), r)
    owners: dict[tuple[str, str, str], Owner] = {}
    out = []
    for f in findings:
        key = (f.provider, f.resource_type, resource_key(f.provider, f.resource_id))
        owner = owners.get(key)
        if owner is None:
            owner = owners[key] = resolve(by_key.get(key), tag)
        out.append(replace(f, owner=owner))
    return tuple(out)


def reassign(findings: Iterable[Finding], resources: Iterable[Resource], tag: str) -> tuple[Finding, ...]:
    """``findings`` read from a file, with their owners by another tag, from the tags the file's inventory holds.

    A finding whose recorded owner is unknown stays unknown (its tags were not read); one the file records no
    owner for (an older version) is owned when its inventory entry carries the tag, and otherwise unknown:
    such a file does not say whether the tags were read.
    """
    given = tuple(findings)
    out = []
    for f, again in zip(given, assign(given, resources, tag), strict=True):
        before = f.owner
        now = again.owner
        if before is not None and before.state is OwnerState.UNKNOWN:
            now = before
        elif before is None and (now is None or now.state is not OwnerState.OWNED):
            now = Owner(OwnerState.UNKNOWN, reason="the findings file does not record whether the tags were read")
        out.append(replace(f, owner=now))
    return tuple(out)
