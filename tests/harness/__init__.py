"""Importable helpers for the tests: isolated AWS environment, the real database servers, moto and the
emulator, EventBridge -> SQS routes, and small waiting helpers. Fixtures built on them live in conftest.py."""
