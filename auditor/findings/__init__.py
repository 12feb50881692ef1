"""The findings file read back, and the comparison of two scans.

:mod:`~auditor.findings.read` reads a findings.json (``auditor report``, ``--baseline``, ``remediate
plan``): :mod:`~auditor.findings.stream` item by item when it is valid, :mod:`~auditor.findings.document`
whole otherwise, :mod:`~auditor.findings.recognise` naming another of the tool's files given instead.
:mod:`~auditor.findings.compare` compares a scan with a baseline findings file. This is the input side of
the format :mod:`auditor.outputs.findings_json` writes; the outputs never import it.
"""
