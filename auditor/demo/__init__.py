"""The embedded demo estates that ``auditor demo`` scans through the real SDKs, on loopback only.

AWS: ``moto_server`` serves moto in this process and ``aws_estate`` seeds it through boto3.
"""
