"""Tests of the local Azure Resource Manager stand-in (auditor.demo.arm_server) with the real SDKs."""
