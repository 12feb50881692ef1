"""``auditor report``: re-render outputs from a findings file. Not a scan: no history, no overwrite; the exit
code is the one the scan that wrote the file had (product-spec), so a re-render never looks cleaner.

The findings file is read and validated (:func:`~auditor.findings.read.read_findings`; another
of the tool's files is named as such), optionally compared with another baseline, and rendered into
the output directory. Nothing is appended to a history: the trend the file carries is rendered as it
is. The inputs are never written over: when a format's file in the output directory is the findings
file (or the baseline) itself, that format is left out if it came from the defaults, and asking for
it with ``--format`` is a ConfigError (exit 3) before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import ConfigError
from auditor.model import ScanResult

if TYPE_CHECKING:
    from auditor.outputs import Outputs


@dataclass(frozen=True, slots=True)
class Rerendered:
    result: ScanResult  # as rendered (compared with the new baseline, if one was given)
    outputs: Outputs  # what was written, and any format that failed
    left_out: tuple[Path, ...]  # default outputs not written: they are an input file itself


def rerender(findings_file: Path, formats: Sequence[str], out_dir: Path, *, explicit: bool,
             baseline_file: Path | None = None, owner_tag: str | None = None) -> Rerendered:
    """Read ``findings_file``, compare it with ``baseline_file`` if given, write ``formats`` into ``out_dir``.

    ``explicit``: the formats were asked for with ``--format`` (not the defaults). ``owner_tag``: re-read each
    finding's owner by this tag from the tags the file's inventory holds (:func:`auditor.owners.reassign`);
    None: the owners as the file records them.
    """
    from auditor.findings.read import read_findings
    from auditor.outputs import write_outputs
    from auditor.pipeline import compare, open_tracking

    result = read_findings(findings_file)
    if owner_tag is not None:
        from auditor.owners import reassign

        result = replace(result, findings=reassign(result.findings, result.resources, owner_tag), owner_tag=owner_tag)
    if baseline_file is not None:  # the file's own --fail-on-new setting still decides what gates
        result = compare(result, replace(open_tracking(baseline_file), fail_on_new=result.fail_on_new))
    inputs = [findings_file] if baseline_file is None else [findings_file, baseline_file]
    chosen, left_out = _sparing_inputs(formats, out_dir, inputs, explicit=explicit)
    return Rerendered(result, write_outputs(result, chosen, out_dir), tuple(left_out))


def _sparing_inputs(formats: Sequence[str], out_dir: Path, inputs: Sequence[Path], *,
                    explicit: bool) -> tuple[list[str], list[Path]]:
    """``formats`` without those whose file is one of ``inputs``, and those files."""
    from auditor.outputs.formats import by_name

    registry = by_name()
    chosen: list[str] = []
    left_out: list[Path] = []
    for name in dict.fromkeys(formats):
        output = registry.get(name)
        if output is None:  # write_outputs reports it
            chosen.append(name)
            continue
        target = out_dir / output.filename
        clash = next((p for p in inputs if _same_file(target, p)), None)
        if clash is None:
            chosen.append(name)
        elif explicit:
            raise ConfigError(f"--format {name} would write {target} over the input being re-rendered; "
                              "choose another --out", file=str(clash), field="--out")
        else:
            left_out.append(clash)
    return chosen, left_out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: they are not one file
        return False
