"""The parts a rule is made of, as its rule file declares them, and the verdict its condition decides.

A rule (:class:`auditor.model.Rule`) holds these: the frameworks and controls it evidences, its remediation
(an automatic remediator, or the manual procedure a person follows), and how report.html's endpoint
inventory words it. A compiled condition or a named check returns a :class:`Verdict`. None of these depends
on the estate, the findings or their statuses: they are the leaves of the model that ``auditor.model``
builds on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args


@dataclass(frozen=True, slots=True)
class FrameworkRef:
    framework: str
    control: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Control:
    """One control of a compliance framework and the rule ids that evidence it."""

    id: str
    title: str
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Framework:
    """A compliance framework as data (rules/frameworks/*.yaml); ``informative`` mappings are labelled so."""

    id: str
    title: str
    controls: tuple[Control, ...]
    version: str = ""
    informative: bool = False
    source: str = ""

DisruptionName = Literal["none", "rolling", "breaking-clients"]  # remediation's Disruption values, as rules write them
DISRUPTIONS: tuple[DisruptionName, ...] = get_args(DisruptionName)
PROCEDURE_FIELDS = frozenset({"name", "id", "region", "account"})  # the finding's values a procedure step may name


@dataclass(frozen=True, slots=True)
class ManualProcedure:
    """What a person does for a FAIL finding no automatic fix handles (a rule's ``remediation.manual``).

    ``steps`` are templates: ``{name}``, ``{id}``, ``{region}`` and ``{account}`` are the finding's.
    """

    disruption: DisruptionName
    disruption_detail: str  # what the disruption is, in a few words
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Remediation:
    guidance: str
    remediator: str | None = None  # name of an automatic remediator, when one exists
    manual: ManualProcedure | None = None  # the procedure when no automatic fix applies

    @property
    def automatic(self) -> bool:
        return self.remediator is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a condition or check decides: pass or fail, with the values that decided it.

    A Python check may also find that the rule does not apply to the resource (``applicable``
    False): the finding is NOT_APPLICABLE, for cases an ``applies_when`` condition cannot express.
    """

    passed: bool
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    applicable: bool = True


REPORT_ASPECTS = ("auth", "identity", "encryption", "capture", "network", "other")  # the endpoint inventory's


@dataclass(frozen=True, slots=True)
class ReportWords:
    """How report.html's endpoint inventory words a rule (a rule file's ``report:`` key).

    ``aspect``: the column its line is filed under; ``order``: the line's place among the lines of an endpoint
    (lower first; rules without one come after); ``label`` and the words for PASS, FAIL and NOT_APPLICABLE
    (``label: words``; "" leaves the default: compliant, non-compliant, not applicable); ``noun``: what
    several resources of the rule's type are called ("off on 1 of 2 models").
    """

    aspect: str
    order: int | None = None
    label: str = ""
    passed: str = ""
    failed: str = ""
    not_applicable: str = ""
    noun: str = ""

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ReportWords:
        """From a rule file's ``report:`` key or findings.json's ``rules.<id>.report`` (both schema-validated)."""
        return cls(aspect=entry["aspect"], order=entry.get("order"), label=entry.get("label", ""),
                   passed=entry.get("pass", ""), failed=entry.get("fail", ""),
                   not_applicable=entry.get("not_applicable", ""), noun=entry.get("noun", ""))

    def to_json(self) -> dict[str, Any]:
        """As a rule file writes it: the keys that are set."""
        doc: dict[str, Any] = {"aspect": self.aspect}
        if self.order is not None:
            doc["order"] = self.order
        for key, value in (("label", self.label), ("pass", self.passed), ("fail", self.failed),
                           ("not_applicable", self.not_applicable), ("noun", self.noun)):
            if value:
                doc[key] = value
        return doc
