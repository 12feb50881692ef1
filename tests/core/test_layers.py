"""The import layers of ``auditor/``, read from the source with ``ast`` (nothing is imported).

Every import counts: at module level, inside functions (the lazy imports) and under ``TYPE_CHECKING``, since
each one is a dependency of the design. The tables below are the layering; the tests only read them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

# -- the layering --------------------------------------------------------------------------------------------

# The model layer: the data between layers and the leaf utilities it is made of. Each of these imports only
# others of this set (checked below), so whatever imports only from it depends on nothing above the model.
MODEL_LAYER: Mapping[str, str] = {
    "auditor.model": "the frozen dataclasses and enums that pass between layers",
    "auditor.identity": "which providers' resource ids compare case-insensitively: the key of a resource id, "
                        "and a finding's id made from it",
    "auditor.rule_parts": "what a rule holds besides its condition and severity (frameworks, remediation, report "
                          "words) and the Verdict its condition decides",
    "auditor.fingerprint": "a resource's state as digests, which a Finding holds (remediation's stale check)",
    "auditor.baseline": "the baseline state of one finding: a table over the model's statuses",
    "auditor.frameworks": "framework summaries computed from a ScanResult",
    "auditor.waiver_view": "what the waivers did (active ones' mutes and expiry, unused ones' nearest resources), "
                           "computed from a ScanResult",
    "auditor.scope_model": "PolicyScope, which a ScanResult holds, and the USES graph a scope follows",
    "auditor.regions": "canonical region names (policy_scope's Azure locations)",
    "auditor.untrusted": "making service text printable (the model's error texts)",
    "auditor.secrets": "recognising secret values (untrusted's redaction)",
    "auditor.errors": "the error classes",
    "auditor.atomic": "writing a file atomically",
    "auditor.paths": "where the shipped data files are",
    "auditor.planned": "values of a planned change known only after apply (the condition language's and the plan "
                       "reader's)",
    "auditor.shard": "a scan's shard (--shard K/N), its scope keys and the Provenance a ScanResult holds",
}

# A package (or module) and what it may import besides its own modules: module names or package prefixes.
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "auditor.outputs": frozenset(MODEL_LAYER),
}

# Packages and modules no import cycle may pass through, at module level or between these as wholes.
ACYCLIC: tuple[str, ...] = (
    "auditor.pipeline",
    "auditor.findings",
    "auditor.outputs",
    "auditor.baseline",
    "auditor.rerender",
    "auditor.demo.run",
    "auditor.cli",
)

# -- the import graph ----------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2] / "auditor"


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the auditor package by dotted name (a package by its ``__init__``)."""
    return {_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The auditor module ``name`` is, or is in (``auditor.outputs.write_outputs`` is in ``auditor.outputs``)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, tree: ast.AST) -> Iterator[str]:
    is_package = modules()[module].name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                yield f"{base}.{alias.name}"  # a module of the package, or a name in the module _resolve finds


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the auditor modules it imports (itself left out)."""
    edges = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = {_resolve(name) for name in _imported(module, tree) if name.startswith("auditor")}
        edges[module] = frozenset(t for t in targets if t is not None and t != module)
    return edges


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _cycles(edges: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _unit(module: str) -> str:
    """The package or module of ACYCLIC that ``module`` is in, or ``module`` itself."""
    return next((prefix for prefix in ACYCLIC if _within(module, prefix)), module)


# -- the tests -----------------------------------------------------------------------------------------------

def test_the_graph_sees_lazy_and_relative_imports() -> None:
    """The reader itself: a function-level import and a ``from package import module`` are edges."""
    edges = graph()
    assert "auditor.findings.read" in edges["auditor.pipeline"]  # inside open_tracking
    assert "auditor.findings.document" in edges["auditor.findings.stream"]  # from auditor.findings import document
    assert "auditor.outputs" in edges["auditor.cli_scan"]  # from auditor.outputs import check_out_dir, in check_out
    assert all(target in modules() for targets in edges.values() for target in targets)


def test_the_model_layer_imports_only_itself() -> None:
    leaks = {m: sorted(t for t in graph()[m] if t not in MODEL_LAYER) for m in MODEL_LAYER}
    assert not {m: t for m, t in leaks.items() if t}, "a module of the model layer imports from above it"


def test_each_layer_imports_only_what_it_may() -> None:
    wrong = {}
    for layer, allowed in MAY_IMPORT.items():
        for module, targets in graph().items():
            if _within(module, layer):
                bad = sorted(t for t in targets
                             if not _within(t, layer) and not any(_within(t, a) for a in allowed))
                if bad:
                    wrong[module] = bad
    assert not wrong


def test_no_import_cycle_passes_through_the_acyclic_modules() -> None:
    edges = graph()
    tangled = [c for c in _cycles(edges) if any(_unit(m) in ACYCLIC for m in c)]
    assert not tangled, "module-level import cycles"
    units: dict[str, set[str]] = {}
    for module, targets in edges.items():
        units.setdefault(_unit(module), set()).update(_unit(t) for t in targets if _unit(t) != _unit(module))
    whole = [c for c in _cycles({u: frozenset(t) for u, t in units.items()}) if any(u in ACYCLIC for u in c)]
    assert not whole, "import cycles between packages"


def test_no_module_import_cycle_anywhere() -> None:
    """No module of ``auditor/`` reaches itself through its imports, lazy and type-checking ones included."""
    assert _cycles(graph()) == []


def test_cycles_are_found() -> None:
    """The cycle finder finds a cycle through three modules and none in a chain."""
    assert _cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) \
        == [["a", "b", "c"]]
    assert _cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset()}) == []
