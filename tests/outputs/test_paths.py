"""Data directories: packaged copy first, then a source checkout, else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import paths
from auditor.paths import DataDirNotFound, reports_dir, rules_dir, schemas_dir

REPO = Path(__file__).resolve().parents[2]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_the_data_in_use_is_the_repository_data() -> None:
    """Editable checkout or installed wheel (as in CI): the catalog and templates are complete copies."""
    installed = Path(paths.__file__).resolve().parent
    if installed.parent == REPO:  # a source checkout uses the repository directories themselves
        assert rules_dir() == REPO / "rules"
        assert reports_dir() == REPO / "reports"
    else:  # an installed wheel carries them as package data
        assert rules_dir() == installed / "_data" / "rules"
        assert reports_dir() == installed / "_data" / "reports"
    assert _files(rules_dir()) == _files(REPO / "rules")
    assert _files(reports_dir()) == _files(REPO / "reports")


def test_schemas_live_in_the_package() -> None:
    assert schemas_dir() == Path(paths.__file__).resolve().parent / "schemas"
    assert (schemas_dir() / "findings.schema.json").is_file()


def _fake_install(root: Path, *, packaged: bool, checkout_marker: bool, repo_level: bool = True) -> Path:
    package = root / "auditor"
    package.mkdir(parents=True)
    if packaged:
        (package / "_data" / "rules").mkdir(parents=True)
    if repo_level:
        (root / "rules").mkdir()
    if checkout_marker:
        (root / "pyproject.toml").write_text("", encoding="utf-8")
    return package


def test_packaged_data_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_install(tmp_path, packaged=True, checkout_marker=True)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", package)
    assert rules_dir() == package / "_data" / "rules"


def test_checkout_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _fake_install(tmp_path, packaged=False, checkout_marker=True)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", package)
    assert rules_dir() == tmp_path / "rules"


def test_unrelated_top_level_directory_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An installed auditor in site-packages next to some other distribution's top-level "rules/".
    package = _fake_install(tmp_path, packaged=False, checkout_marker=False)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", package)
    with pytest.raises(DataDirNotFound) as caught:
        rules_dir()
    message = str(caught.value)
    assert str(package / "_data" / "rules") in message and str(tmp_path / "rules") in message
    assert caught.value.exit_code == 3


def test_missing_schemas_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "_PACKAGE_DIR", tmp_path)
    with pytest.raises(DataDirNotFound, match="installation is incomplete"):
        schemas_dir()
