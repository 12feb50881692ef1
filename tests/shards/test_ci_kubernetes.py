"""examples/ci/kubernetes-indexed-job.yaml: the Kubernetes manifests of a sharded audit are valid against the
Kubernetes API's schemas, shaped as their comments say (an Indexed Job of N shards, then a merge Job, applied by
label), and every auditor command line they run parses against the real click commands (the same machinery as
the other CI examples). The pods' shell scripts are run by the system shell, the auditor in them replaced by a
recorder, so the index arithmetic, the shards' directories and the exit codes are those a pod would see."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_schemas

from .conftest import run
from .test_ci_examples import EXAMPLES, _auditor_lines, _parse

KUBERNETES = EXAMPLES / "kubernetes-indexed-job.yaml"
COMPONENT = "app.kubernetes.io/component"
INDEX = r"\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)"  # the shard (1-based) from the Job's 0-based completion index
IMAGE = "python:3.11-slim"  # no image of the auditor is published: the pods install it (see the file's comments)
OLDEST_KUBERNETES = "1.33"  # backoffLimitPerIndex is GA from 1.33, as the file says
# Stands in for the auditor: records its arguments, makes its --out directory (a scan's holds findings.json) and
# exits FAKE_AUDITOR_EXIT. The directory's parent must already exist: N pods start at once, and the auditor's
# own creation of a missing parent is not safe against another pod creating it at the same moment.
FAKE_AUDITOR = """#!{python}
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_AUDITOR_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\\n")
out = Path(args[args.index("--out") + 1])
out.mkdir(exist_ok=True)
if args[0] == "scan":
    (out / "findings.json").write_text("{{}}", encoding="utf-8")
sys.exit(int(os.environ["FAKE_AUDITOR_EXIT"]))
"""


def _documents() -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")) if d is not None]
    assert documents and all(isinstance(d, dict) for d in documents)
    return documents


def _object(kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _pod(job: Mapping[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = job["spec"]["template"]["spec"]
    return pod


def _container(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in _pod(job)["containers"] if c["name"] == name]
    return found


def _script(container: Mapping[str, Any]) -> str:
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"] and len(command) == 3, command
    script: str = command[2]
    return script


class Pods:
    """Runs a container's script as its pod would, with each volume mount moved under a test directory and
    the auditor replaced by a recorder of its command lines."""

    def __init__(self, root: Path, *, real_auditor: bool = False) -> None:
        """``real_auditor``: the scripts run this environment's own ``auditor`` (no recording)."""
        self.root = root
        self.log = root / "auditor-calls.jsonl"
        if real_auditor:
            self.bin = Path(sys.executable).parent
            assert (self.bin / "auditor").is_file(), "the auditor's console script is installed beside python"
            return
        self.bin = root / "bin"
        self.bin.mkdir()
        fake = self.bin / "auditor"
        fake.write_text(FAKE_AUDITOR.format(python=sys.executable), encoding="utf-8")
        fake.chmod(0o755)

    def volume(self, name: str) -> Path:
        return self.root / "volumes" / name

    def run(self, container: Mapping[str, Any], auditor_exit: int = 0,
            environ: Mapping[str, str] | None = None) -> tuple[int, list[list[str]]]:
        """The script's exit code and the auditor command lines it ran (as words)."""
        mounts = {m["mountPath"]: self.volume(m["name"]) for m in container["volumeMounts"]}
        for path in mounts.values():
            path.mkdir(parents=True, exist_ok=True)
        pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
                             + r")(?=/|\s|\"|$)")
        script = pattern.sub(lambda m: str(mounts[m.group(1)]), _script(container))
        self.log.unlink(missing_ok=True)
        env = {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "FAKE_AUDITOR_LOG": str(self.log),
               "FAKE_AUDITOR_EXIT": str(auditor_exit), **(environ or {})}
        done = subprocess.run([*container["command"][:2], script], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        self.stderr = done.stderr
        calls = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()] \
            if self.log.exists() else []
        return done.returncode, calls

    def scan(self, job: Mapping[str, Any], index: int, auditor_exit: int = 0) -> tuple[int, list[list[str]]]:
        return self.run(_container(job, "scan"), auditor_exit, {"JOB_COMPLETION_INDEX": str(index)})


def test_the_file_holds_the_setup_a_scan_job_and_a_merge_job_applied_by_label() -> None:
    documents = _documents()
    assert [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("v1", "Namespace", "auditor"), ("v1", "ServiceAccount", "auditor-scan"),
        ("v1", "PersistentVolumeClaim", "auditor-findings"),
        ("batch/v1", "Job", "auditor-scan"), ("batch/v1", "Job", "auditor-merge")]
    # `kubectl apply -f FILE -l app.kubernetes.io/component=C`, as the comments say, applies these:
    selected: dict[str, list[str]] = {}
    for d in documents:
        selected.setdefault(d["metadata"]["labels"][COMPONENT], []).append(f"{d['kind']}/{d['metadata']['name']}")
    assert selected == {"setup": ["Namespace/auditor", "ServiceAccount/auditor-scan",
                                  "PersistentVolumeClaim/auditor-findings"],
                        "scan": ["Job/auditor-scan"], "merge": ["Job/auditor-merge"]}
    text = KUBERNETES.read_text(encoding="utf-8")
    for component in selected:
        assert f"-l {COMPONENT}={component}" in text
    assert "kubectl -n auditor wait --for=condition=complete job/auditor-scan" in text
    assert all(d["metadata"]["namespace"] == "auditor" for d in documents if d["kind"] != "Namespace")

    claim = _object("PersistentVolumeClaim", "auditor-findings")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    mounted = set()
    for job, container in (("auditor-scan", "scan"), ("auditor-merge", "merge")):
        spec = _object("Job", job)
        [volume] = [v for v in _pod(spec)["volumes"] if "persistentVolumeClaim" in v]
        assert volume["persistentVolumeClaim"]["claimName"] == "auditor-findings"
        [mount] = [m for m in _container(spec, container)["volumeMounts"] if m["name"] == volume["name"]]
        mounted.add(mount["mountPath"])
    assert len(mounted) == 1  # both Jobs see the shards at the same path


def test_the_scan_job_is_indexed_and_its_shards_are_its_completions() -> None:
    job = _object("Job", "auditor-scan")
    spec = job["spec"]
    n = spec["completions"]
    assert spec["completionMode"] == "Indexed" and isinstance(n, int) and n > 1 and spec["parallelism"] == n
    [(name, params)] = [_parse(words) for words in _auditor_lines(_script(_container(job, "scan")), {INDEX: "2"})]
    assert name == "scan all" and str(params["shard"]) == f"2/{n}" and params["formats"] == ("json",)
    assert params["credential"] == "workload-identity"
    # A pod failure policy needs restartPolicy Never; it must name the container whose exit code it reads.
    assert _pod(job)["restartPolicy"] == "Never"
    [rule] = spec["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex" and rule["onExitCodes"] == {"containerName": "scan", "operator": "In",
                                                                      "values": [3]}
    assert spec["backoffLimitPerIndex"] >= 1

    merge = _object("Job", "auditor-merge")
    [(name, params)] = [_parse(words) for words in _auditor_lines(_script(_container(merge, "merge")))]
    assert name == "merge" and params["fail_on"] == "high"
    assert set(params["formats"]) == {"json", "html", "sarif", "markdown"}


def test_each_index_scans_its_shard_into_its_directory_and_the_merge_reads_exactly_those(tmp_path: Path) -> None:
    pods = Pods(tmp_path)
    scan_job, merge_job = _object("Job", "auditor-scan"), _object("Job", "auditor-merge")
    n = scan_job["spec"]["completions"]
    outs = {}
    for index in range(n):  # JOB_COMPLETION_INDEX is 0..N-1
        code, calls = pods.scan(scan_job, index)
        [(name, params)] = [_parse(words) for words in calls]
        assert code == 0 and name == "scan all"
        outs[str(params["shard"])] = params["out_dir"]
    assert sorted(outs) == sorted(f"{k}/{n}" for k in range(1, n + 1))  # every shard 1..N, each once
    assert len(set(outs.values())) == n
    shards_dir = pods.volume("findings") / "shards"
    assert {path.parent for path in outs.values()} == {shards_dir}

    code, calls = pods.run(_container(merge_job, "merge"))
    [(name, params)] = [_parse(words) for words in calls]
    assert code == 0 and name == "merge"
    assert sorted(params["shards"]) == sorted(outs.values())  # the glob finds exactly the shards' directories
    report = params["out_dir"]
    assert report not in outs.values()
    # The merge keeps what it read beside the report, so the shards' directory starts empty the next night.
    assert not shards_dir.exists()
    assert sorted(p.parent.name for p in (report / "shards").glob("*/findings.json")) == sorted(
        p.name for p in outs.values())

    # Next night the last shard never runs: it is missing from the merge, not merged from the night before.
    for index in range(n - 1):
        assert pods.scan(scan_job, index)[0] == 0
    code, calls = pods.run(_container(merge_job, "merge"))
    [(name, params)] = [_parse(words) for words in calls]
    assert sorted(params["shards"]) == sorted(outs[f"{k}/{n}"] for k in range(1, n))


def test_the_merge_pod_runs_the_real_merge_over_the_demo_shards_and_reports_a_missing_one_next_night(
        demo_env: tuple[str, ...], tmp_path: Path) -> None:
    """The merge container's script with the real auditor, over shards of the demo estate written where the scan
    pods write them: the merged result gates as the unsharded scan does (exit 1); the next night, a shard that
    did not run is reported missing (exit 2), as the file's comments say."""
    pods = Pods(tmp_path, real_auditor=True)
    merge = _container(_object("Job", "auditor-merge"), "merge")
    n = _object("Job", "auditor-scan")["spec"]["completions"]
    shards = pods.volume("findings") / "shards"
    for k in range(1, n + 1):
        assert run(["scan", "all", *demo_env, "--shard", f"{k}/{n}", "--out", str(shards / f"shard-{k}"),
                    "--format", "json", "--quiet"]) < 3  # the pod succeeds on 0, 1 and 2
    code, _calls = pods.run(merge)
    assert code == 1, pods.stderr  # complete, with FAILs at or above high: the demo estate's unsharded result
    report = pods.volume("findings") / "report"
    assert {"findings.json", "report.html", "report.sarif", "summary.md"} <= {p.name for p in report.iterdir()}
    assert not shards.exists()

    shards.mkdir()  # the next night, the first N-1 shards run again (their findings as before) and the last not
    for k in range(1, n):
        (shards / f"shard-{k}").mkdir()
        shutil.copy(report / "shards" / f"shard-{k}" / "findings.json", shards / f"shard-{k}" / "findings.json")
    code, _calls = pods.run(merge)
    assert code == 2 and f"shard {n}/{n} missing" in pods.stderr
    rows = json.loads((report / "findings.json").read_text(encoding="utf-8"))["coverage"]
    assert any(row["scope_id"] == f"shard {n}/{n}" for row in rows)


@pytest.mark.parametrize("auditor_exit", [0, 1, 2, 3])
def test_a_shard_fails_its_pod_only_on_bad_input_and_the_merge_pod_exits_as_the_merge(
        tmp_path: Path, auditor_exit: int) -> None:
    pods = Pods(tmp_path)
    code, _calls = pods.scan(_object("Job", "auditor-scan"), 0, auditor_exit)
    assert code == (3 if auditor_exit == 3 else 0)  # a FAIL or an incomplete shard is the merge's to decide
    code, _calls = pods.run(_container(_object("Job", "auditor-merge"), "merge"), auditor_exit)
    assert code == auditor_exit  # the merge Job's pod is the gate


def test_the_scan_has_workload_identity_and_the_merge_none() -> None:
    account = _object("ServiceAccount", "auditor-scan")
    annotations = account["metadata"]["annotations"]
    assert re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", annotations["eks.amazonaws.com/role-arn"])
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(uuid, annotations["azure.workload.identity/client-id"])
    assert re.fullmatch(uuid, annotations["azure.workload.identity/tenant-id"])
    scan = _object("Job", "auditor-scan")["spec"]["template"]
    assert scan["spec"]["serviceAccountName"] == "auditor-scan"
    assert scan["metadata"]["labels"]["azure.workload.identity/use"] == "true"  # a string: the webhook's selector
    merge = _object("Job", "auditor-merge")["spec"]["template"]
    assert "serviceAccountName" not in merge["spec"]
    assert "azure.workload.identity/use" not in merge["metadata"]["labels"]
    # No static key anywhere in the pods' environment.
    for job in ("auditor-scan", "auditor-merge"):
        pod = _pod(_object("Job", job))
        names = {e["name"] for c in pod["initContainers"] + pod["containers"] for e in c.get("env", [])}
        assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET"}


def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem() -> None:
    namespace = _object("Namespace", "auditor")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for job in ("auditor-scan", "auditor-merge"):
        pod = _pod(_object("Job", job))
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] > 0 and context["runAsGroup"] > 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["initContainers"] + pod["containers"]:
            assert container["image"] == IMAGE
            assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                    "capabilities": {"drop": ["ALL"]}}
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            [home] = [e["value"] for e in container["env"] if e["name"] == "HOME"]
            assert mounts["/tmp"]["name"] in empty_dirs and home == "/tmp"  # the only writable scratch space
        [install] = pod["initContainers"]
        [main] = pod["containers"]
        venv = [m for m in install["volumeMounts"] if m["mountPath"] == "/opt/auditor"]
        assert venv and venv[0]["name"] in empty_dirs
        [used] = [m for m in main["volumeMounts"] if m["name"] == venv[0]["name"]]
        assert used["mountPath"] == "/opt/auditor" and used["readOnly"] is True
        [path] = [e["value"] for e in main["env"] if e["name"] == "PATH"]
        assert path.split(":")[0] == "/opt/auditor/bin"


def test_both_jobs_install_the_same_auditor_and_refuse_an_archive_of_another_digest(tmp_path: Path) -> None:
    [scan_install] = _pod(_object("Job", "auditor-scan"))["initContainers"]
    [merge_install] = _pod(_object("Job", "auditor-merge"))["initContainers"]
    assert scan_install == merge_install  # the merge refuses shards of another version of the auditor
    script = _script(scan_install)
    assert "-c /tmp/src/constraints.txt /tmp/src" in script  # the versions that commit pins

    archive = tmp_path / "auditor.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(KUBERNETES, arcname="auditor-0123abc/examples/ci/kubernetes-indexed-job.yaml")
    pods = Pods(tmp_path)
    assert {e["name"] for e in scan_install["env"]} >= {"AUDITOR_SOURCE_URL", "AUDITOR_SOURCE_SHA256"}
    environ = {"AUDITOR_SOURCE_URL": archive.as_uri(),
               "AUDITOR_SOURCE_SHA256": hashlib.sha256(archive.read_bytes() + b"another").hexdigest()}
    code, _calls = pods.run(scan_install, environ=environ)
    assert code != 0
    assert not any(pods.volume("auditor").iterdir())  # nothing installed
    assert not any(pods.volume("tmp").iterdir())  # nothing unpacked


def test_the_manifests_are_valid_kubernetes_objects() -> None:
    """Strict (no unknown field) against the API schemas kubernetes-validate ships: no download at run time."""
    problems = []  # the error's own text would print the whole schema
    for version in (OLDEST_KUBERNETES, kubernetes_schemas.latest_version()):
        for document in _documents():
            try:
                kubernetes_schemas.validate(document, version, strict=True)
            except kubernetes_schemas.ValidationError as exc:
                where = ".".join(str(part) for part in exc.path)
                problems.append(f"Kubernetes {version}: {document['kind']}/{document['metadata']['name']}: "
                                f"{where}: {exc.message}")
    assert not problems, "\n".join(problems)


def test_a_wrong_field_in_the_manifests_would_be_caught() -> None:
    job = copy.deepcopy(_object("Job", "auditor-scan"))
    job["spec"]["completionmode"] = job["spec"].pop("completionMode")
    with pytest.raises(kubernetes_schemas.ValidationError, match="completionmode"):
        kubernetes_schemas.validate(job, OLDEST_KUBERNETES, strict=True)
    job = copy.deepcopy(_object("Job", "auditor-scan"))
    _container(job, "scan")["env"][0]["value"] = 4  # an unquoted number where Kubernetes wants a string
    with pytest.raises(kubernetes_schemas.ValidationError):
        kubernetes_schemas.validate(job, OLDEST_KUBERNETES, strict=True)
