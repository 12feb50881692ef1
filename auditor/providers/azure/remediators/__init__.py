"""One module per remediator; each exposes ``REMEDIATOR`` (see :class:`auditor.remediate.Remediator`).

The module name is the remediator's name, which a rule names in ``remediation.remediator``.
"""
