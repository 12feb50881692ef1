from __future__ import annotations

from datetime import date

import pytest

from auditor.errors import ConfigError, ConfigProblemsError
from auditor.model import Finding, Severity, Status
from auditor.waivers import apply_waivers, load_waivers

RULES = ["aws.sagemaker.model.vpc", "aws.sagemaker.model.network_isolation", "azure.ml.online_endpoint.auth_mode"]


def finding(rule="aws.sagemaker.model.vpc", rid="arn:aws:sagemaker:eu-west-1:1:model/legacy", status=Status.FAIL,
            provider="aws"):
    return Finding(rule, rid, "aws.sagemaker.model", provider, "1", "eu-west-1", status, Severity.MEDIUM, "m")


def write(tmp_path, text):
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    return p


GOOD = """\
waivers:
  - rules: [aws.sagemaker.model.*]
    resources: ["arn:aws:sagemaker:eu-west-1:1:model/legacy*"]
    reason: Legacy model, replaced in Q1 (SEC-142)
    owner: ml-platform@example.com
    expires: 2027-03-31
  - rules: [azure.ml.online_endpoint.auth_mode]
    resources: [/subscriptions/ABC/resourceGroups/ML/providers/x/onlineEndpoints/Legacy]
    reason: partner on keys
    owner: ml-platform@example.com
    expires: 2027-03-31
  - rules: [aws.sagemaker.model.vpc]
    resources: ["*"]
    reason: old
    owner: someone
    expires: 2026-01-01
    broad: true
"""


def test_waiver_mutes_fail_only_and_reports_expired_and_unused(tmp_path):
    waivers = load_waivers(write(tmp_path, GOOD), RULES)
    findings = [
        finding(),
        finding(rule="aws.sagemaker.model.network_isolation", status=Status.PASS),
        finding(rid="arn:aws:sagemaker:eu-west-1:1:model/other"),
        finding(rid="arn:aws:sagemaker:eu-west-1:1:model/legacy-2", status=Status.ERROR),
    ]
    out = apply_waivers(findings, waivers, date(2026, 11, 30))
    statuses = [f.status for f in out.findings]
    assert statuses == [Status.MUTED, Status.PASS, Status.FAIL, Status.ERROR]
    assert out.findings[0].waiver is not None and out.findings[0].waiver.owner == "ml-platform@example.com"
    assert [w.index for w in out.expired] == [2]
    assert [w.index for w in out.unused] == [1]


def test_azure_ids_match_case_insensitively(tmp_path):
    waivers = load_waivers(write(tmp_path, GOOD), RULES)
    f = finding(rule="azure.ml.online_endpoint.auth_mode", provider="azure",
                rid="/subscriptions/abc/resourcegroups/ml/providers/x/onlineEndpoints/legacy")
    out = apply_waivers([f], waivers, date(2026, 11, 30))
    assert out.findings[0].status is Status.MUTED


def test_expiry_day_itself_mutes_nothing(tmp_path):
    waivers = load_waivers(write(tmp_path, GOOD), RULES)
    out = apply_waivers([finding()], waivers, date(2027, 3, 31))
    assert out.findings[0].status is Status.FAIL
    assert {w.index for w in out.expired} == {0, 1, 2}
    out = apply_waivers([finding()], waivers, date(2027, 3, 30))
    assert out.findings[0].status is Status.MUTED


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (GOOD.replace("    reason: partner on keys\n", ""), 7, "waivers[1].reason", "'reason' is required"),
        (GOOD.replace("owner: someone", "owner: ''"), 15, "waivers[2].owner", "'owner' is required"),
        (GOOD.replace("expires: 2026-01-01", "expires: next year"), 16, "waivers[2].expires", "ISO date"),
        (GOOD.replace("expires: 2026-01-01", "expires: 2026-13-01"), 16, "waivers[2].expires", "ISO date"),
        (GOOD.replace("rules: [aws.sagemaker.model.vpc]", "rules: [aws.sagemaker.modle.vpc]"), 12,
         "waivers[2].rules[0]", "matches no rule"),
        (GOOD.replace("resources: [\"*\"]", "resources: 5"), 13, "waivers[2].resources", "non-empty list"),
        (GOOD.replace("    owner: someone\n", "    owner: someone\n    note: x\n"), 16, "waivers[2].note",
         "unknown key"),
        ("waivers:\n  - rules: [a\n", 3, None, "YAML syntax error"),
        ("mutes: []\n", 1, None, "one key, 'waivers'"),
    ],
)
def test_malformed_waivers_name_file_line_and_field(tmp_path, text, line, field, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_waivers(path, RULES)
    assert message in str(e.value)
    assert e.value.file == str(path)
    assert e.value.line == line
    assert e.value.field == field


def test_every_problem_of_a_waivers_file_is_reported_at_once_a_typo_by_its_name(tmp_path):
    text = GOOD.replace("    reason: partner on keys\n", "    reson: partner on keys\n").replace(
        "expires: 2026-01-01", "expires: 2026-13-01")
    path = write(tmp_path, text)
    with pytest.raises(ConfigProblemsError) as e:
        load_waivers(path, RULES)
    found = [(p.line, p.field, str(p).rsplit(": ", 1)[-1]) for p in e.value.problems]
    reson_line = text.splitlines().index("    reson: partner on keys") + 1
    assert found[0] == (reson_line, "waivers[1].reson", "unknown key 'reson' (did you mean 'reason'?)")
    assert not any(field == "waivers[1].reason" for _, field, _ in found)  # the typo explains the missing key
    assert found[1][1] == "waivers[2].expires" and "ISO date" in found[1][2]
    assert len(found) == 2


def test_the_cli_prints_every_problem_on_its_own_line(tmp_path, capsys):
    from auditor.cli import main

    path = write(tmp_path, GOOD.replace("    owner: someone\n", "    owner: someone\n    note: x\n").replace(
        "rules: [aws.sagemaker.model.vpc]", "rules: [aws.sagemaker.modle.vpc]"))
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "aws", "--region", "eu-west-1", "--waivers", str(path), "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "auditor: error: 2 problems:"
    assert err[1].startswith(f"  {path}:12: field 'waivers[2].rules[0]'") and "matches no rule" in err[1]
    assert err[2].startswith(f"  {path}:16: field 'waivers[2].note': unknown key 'note'")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("change", "field", "message"), [
    (("expires: 2027-03-31", "expires: 2029-01-01"), "waivers[0].expires", "more than 365 (--max-waiver-days)"),
    (('resources: ["arn:aws:sagemaker:eu-west-1:1:model/legacy*"]', 'resources: ["*"]'), "waivers[0].resources[0]",
     "'*' waives every resource of its rules"),
])
def test_a_broad_waiver_must_say_so(tmp_path, change, field, message):
    old, new = change
    text = GOOD.replace(old, new, 1)
    today = date(2026, 12, 6)
    with pytest.raises(ConfigError) as e:
        load_waivers(write(tmp_path, text), RULES, today=today)
    assert e.value.field == field and message in str(e.value) and "broad: true" in str(e.value)
    said = text.replace("    expires: 2029-01-01\n", "    expires: 2029-01-01\n    broad: true\n").replace(
        'resources: ["*"]\n    reason: Legacy', 'resources: ["*"]\n    broad: true\n    reason: Legacy')
    assert len(load_waivers(write(tmp_path, said), RULES, today=today)) == 3
    if old.startswith("expires"):  # a longer limit accepts the date
        assert len(load_waivers(write(tmp_path, text), RULES, today=today, max_days=1000)) == 3


def test_broad_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError, match="must be true or false"):
        load_waivers(write(tmp_path, GOOD.replace("    broad: true\n", "    broad: yes please\n")), RULES,
                     today=date(2026, 12, 6))


def test_the_cli_refuses_a_long_waiver_before_any_api_call_and_max_waiver_days_sets_the_limit(tmp_path, capsys):
    from auditor.cli import main

    far = (date.today().replace(day=1).toordinal() + 800)
    path = write(tmp_path, GOOD.replace("expires: 2027-03-31", f"expires: {date.fromordinal(far).isoformat()}", 1))
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "aws", "--region", "eu-west-1", "--waivers", str(path), "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 3
    assert "(--max-waiver-days)" in capsys.readouterr().err and not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "aws", "--region", "eu-west-1", "--waivers", str(path), "--max-waiver-days", "0",
              "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 3 and "--max-waiver-days" in capsys.readouterr().err  # at least 1 day
