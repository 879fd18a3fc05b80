"""Tamper evidence for the records: digests, per-source hash chains, signed daily manifests, verification.

Pure logic behind small ports; the adapters (S3, DynamoDB, KMS) live in worker/adapters/. See docs/evidence.md.
"""
