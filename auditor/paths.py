"""Where the data directories are: the rule catalog, the report templates and the JSON Schemas.

``rules/`` and ``reports/`` are data, not import packages. The wheel carries them as
``auditor/_data/rules`` and ``auditor/_data/reports`` (hatchling ``force-include``); a source checkout
has them at the repository root. The packaged copy wins when it exists. The repository-level copy is
used only when the directory above the package looks like a checkout (it holds ``pyproject.toml`` or
``.git``), so an installed auditor never picks up an unrelated top-level ``rules/`` in site-packages.

JSON Schemas always live inside the package, in ``auditor/schemas/``.
"""

from __future__ import annotations

from pathlib import Path

from auditor.errors import AuditorError

_PACKAGE_DIR = Path(__file__).resolve().parent


class DataDirNotFound(AuditorError):  # noqa: N818 - reads as the condition it reports
    """A data directory the installation should carry is missing: a broken install or checkout."""


def rules_dir() -> Path:
    """The rule catalog: ``rules/<provider>/*.yaml`` and ``rules/frameworks/*.yaml``."""
    return _data_dir("rules")


def reports_dir() -> Path:
    """The Jinja templates and stylesheet of the HTML report."""
    return _data_dir("reports")


def schemas_dir() -> Path:
    """The JSON Schemas shipped with the package (``findings.schema.json`` and others)."""
    path = _PACKAGE_DIR / "schemas"
    if not path.is_dir():
        raise DataDirNotFound(f"the auditor installation is incomplete: {path} does not exist")
    return path


def _data_dir(name: str) -> Path:
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    root = _PACKAGE_DIR.parent
    checkout = root / name
    if checkout.is_dir() and ((root / "pyproject.toml").exists() or (root / ".git").exists()):
        return checkout
    raise DataDirNotFound(
        f"cannot find the auditor's '{name}' directory: looked for {packaged} (installed package) "
        f"and {checkout} (source checkout); reinstall the auditor or run it from a complete checkout"
    )
