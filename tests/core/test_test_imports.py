"""Test modules import their helpers as pytest names them, never through a ``tests`` package.

``tests/`` has no ``__init__.py``: pytest puts ``tests/`` on the path and names a test package's modules
``aws.conftest``, ``iac.plans``. ``from tests.aws import ...`` only resolves when the checkout itself is on the
path (an editable install), so it passes here and fails on CI's clean clone; this test catches it first.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _absolute_tests_imports(path: Path, root: Path = TESTS) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "tests":
            found.append(f"{path.relative_to(root)}:{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found.extend(f"{path.relative_to(root)}:{node.lineno}: import {a.name}" for a in node.names
                         if a.name.split(".")[0] == "tests")
    return found


def test_no_test_module_imports_through_a_tests_package() -> None:
    assert not (TESTS / "__init__.py").exists()
    offending = [line for path in sorted(TESTS.rglob("*.py")) for line in _absolute_tests_imports(path)]
    assert offending == []


def test_the_check_sees_an_absolute_tests_import(tmp_path: Path) -> None:
    module = TESTS / "core" / "test_test_imports.py"
    assert _absolute_tests_imports(module) == []
    sample = tmp_path / "sample.py"
    sample.write_text("from tests.iac.plans import text\nimport tests.aws.seeding\n", encoding="utf-8")
    assert _absolute_tests_imports(sample, tmp_path) == ["sample.py:1: from tests.iac.plans import ...",
                                                         "sample.py:2: import tests.aws.seeding"]
