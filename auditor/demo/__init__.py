"""The embedded demo estates that ``auditor demo`` scans through the real SDKs, on loopback only.

AWS: ``moto_server`` serves moto in this process; ``aws_estate`` seeds any ``EstateSpec`` through boto3
and ``aws_northwind`` is Northwind Retail's. Azure: ``arm_server`` (over ``arm_store`` and ``arm_model``) is
a local HTTPS Resource Manager; ``azure_estate`` builds any ``AzureSpec`` from the official REST examples
(``arm_examples``) and ``azure_northwind`` is Northwind Retail's; ``apim_estate`` adds its API
Management gateway; ``fake_az`` stands in for the Azure CLI. ``run`` serves both and scans them through the
pipeline (``auditor demo``).
"""
