"""Tests of the Azure collection layer (auditor.providers.azure.collect) against the local Resource Manager stand-in.

Named azureml, not azure: pytest imports this folder as a top-level package, which must not shadow
the Azure SDK's ``azure`` namespace.
"""
