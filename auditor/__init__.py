"""auditor: security compliance auditor for ML model-serving endpoints."""

__version__ = "0.1.0"
