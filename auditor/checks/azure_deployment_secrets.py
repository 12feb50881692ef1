"""azure.ml.online_deployment.no_plaintext_secrets: the shared check :mod:`auditor.checks.plaintext_secrets`.

Kept under this name for the rules (and policies) that name it.
"""

from __future__ import annotations

from auditor.checks.plaintext_secrets import check

CHECK = check
