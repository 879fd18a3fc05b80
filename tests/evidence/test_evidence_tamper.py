"""Tamper evidence on the stand-ins: records from real validations carry digests and per-source hash chains,
a day's manifest is signed by a KMS key in moto, and `verify-evidence` names an edit, a deletion and a forged
manifest (exit status 1), and passes the untouched evidence (exit status 0)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from harness.worker_stack import WorkerStack, make_stack, run_cli, run_inline
from prometheus_client import CollectorRegistry

from worker.adapters.aws import open_clients
from worker.evidence.digest import record_digest
from worker.evidence_ops import build_evidence
from worker.metrics import Metrics

SOURCES = 2
BACKUPS_PER_SOURCE = 2


def kms_key() -> str:
    key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    return str(key["KeyMetadata"]["KeyId"])


@pytest.fixture(scope="module")
async def sealed_evidence(emulator_session):
    """Two sources validated twice each by the real worker, then the day sealed by `seal-evidence`."""
    stack = await make_stack()
    key_id = kms_key()
    try:
        sources = [await stack.add_source("postgres") for _ in range(SOURCES)]
        async with run_inline(stack, evidence_kms_key_id=key_id):
            for round_number in range(BACKUPS_PER_SOURCE):
                for source in sources:
                    await stack.backup_and_copy(source)
                await stack.wait_for_records(SOURCES * (round_number + 1), timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="messages acked")
        today = datetime.now(UTC).date().isoformat()
        sealed = run_cli(stack, "seal-evidence", "--day", today, evidence_kms_key_id=key_id)
        assert sealed.returncode == 0, sealed.stderr
        assert f"sealed {SOURCES * BACKUPS_PER_SOURCE} record(s)" in sealed.stdout
        yield stack, key_id, today
    finally:
        await stack.close()


@pytest.fixture
def sealed_stack(sealed_evidence):
    """The module's evidence; whatever a test tampers with is put back afterwards."""
    stack = sealed_evidence[0]
    originals = s3_objects(stack, "")
    yield sealed_evidence
    current = s3_objects(stack, "")
    for key, document in originals.items():
        if current.get(key) != document:
            put(stack, key, document)


def s3_objects(stack: WorkerStack, prefix: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.resources.bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: json.loads(s3.get_object(Bucket=stack.resources.bucket, Key=o["Key"])["Body"].read()) for o in listing
    }


def put(stack: WorkerStack, key: str, document: dict[str, Any]) -> None:
    boto3.client("s3").put_object(Bucket=stack.resources.bucket, Key=key, Body=json.dumps(document).encode())


def chains(stack: WorkerStack) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    by_source: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, record in s3_objects(stack, "validations/").items():
        by_source.setdefault(record["source_resource_arn"], []).append((key, record))
    return {source: sorted(items, key=lambda kv: kv[1]["chain_seq"]) for source, items in by_source.items()}


async def verify(stack: WorkerStack, key_id: str, today: str) -> Any:
    settings = stack.settings(evidence_kms_key_id=key_id)
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        return await build_evidence(clients, settings).verify(datetime.fromisoformat(today).date())


def evidence_pack(stack: WorkerStack, key_id: str | None, today: str, directory: Path) -> str:
    """`report --evidence` over today (UTC); the pack's HTML."""
    done = run_cli(
        stack, "report", "--evidence", str(directory), "--since", f"{today}T00:00:00+00:00", "--no-inventory",
        evidence_kms_key_id=key_id,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (directory / "evidence.html").read_text()


def found(result: Any) -> set[tuple[str, str]]:
    return {(problem.kind, problem.subject) for problem in result.problems}


async def test_records_carry_digests_and_chains_and_untouched_evidence_verifies(sealed_stack, tmp_path):
    stack, key_id, today = sealed_stack
    by_source = chains(stack)
    assert len(by_source) == SOURCES
    for items in by_source.values():
        assert [record["chain_seq"] for _, record in items] == [1, 2]
        first, second = items[0][1], items[1][1]
        assert first["previous_digest"] is None
        assert second["previous_digest"] == first["record_digest"] == record_digest(first)
        assert second["record_digest"] == record_digest(second)
        assert first["status"] == second["status"] == "PASSED"
    manifests = {m["day"]: m for m in s3_objects(stack, "manifests/").values()}
    assert len(manifests[today]["records"]) == SOURCES * BACKUPS_PER_SOURCE
    # The worker's periodic task sealed the three finished days before (empty here: proof there was nothing).
    earlier = sorted(day for day in manifests if day != today)
    assert len(earlier) == 3 and all(manifests[day]["records"] == [] for day in earlier)
    cli = run_cli(stack, "verify-evidence", "--since", today, evidence_kms_key_id=key_id)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "evidence OK" in cli.stdout
    assert f"checked {SOURCES * BACKUPS_PER_SOURCE} record(s) in {SOURCES} chain(s)" in cli.stdout
    # The auditor's pack says so too; without the key it claims nothing.
    html = evidence_pack(stack, key_id, today, tmp_path / "keyed")
    assert '<span class="VERIFIED">VERIFIED</span>' in html
    assert f"{SOURCES * BACKUPS_PER_SOURCE} record(s) in {SOURCES} chain(s)" in html
    html = evidence_pack(stack, None, today, tmp_path / "keyless")
    assert '<span class="NOT_VERIFIED">NOT_VERIFIED</span>' in html and "BV_EVIDENCE_KMS_KEY_ID is not set" in html


async def test_an_edited_record_is_named(sealed_stack, tmp_path):
    stack, key_id, today = sealed_stack
    (first_key, first), (second_key, _) = next(iter(chains(stack).values()))
    put(stack, first_key, {**first, "status": "FAILED"})  # digest left as it was
    result = await verify(stack, key_id, today)
    assert not result.ok
    assert {("edited", first_key), ("record_edited", first_key), ("chain_break", second_key)} <= found(result)
    # The careful forger recomputes the digest: the successor's link and the manifest still disagree.
    forged = {**first, "status": "FAILED"}
    forged["record_digest"] = record_digest(forged)
    put(stack, first_key, forged)
    result = await verify(stack, key_id, today)
    assert ("edited", first_key) not in found(result)
    assert {("record_edited", first_key), ("chain_break", second_key)} <= found(result)
    cli = run_cli(stack, "verify-evidence", "--since", today, evidence_kms_key_id=key_id)
    assert cli.returncode == 1
    assert f"record_edited: {first_key}" in cli.stdout and "evidence NOT OK" in cli.stdout
    html = evidence_pack(stack, key_id, today, tmp_path)
    assert '<span class="BROKEN">BROKEN</span>' in html
    assert f"<li>record_edited: {first_key}" in html and f"<li>chain_break: {second_key}" in html


async def test_a_deleted_record_is_named(sealed_stack):
    stack, key_id, today = sealed_stack
    items = list(chains(stack).values())
    (first_key, _), _ = items[0]
    _, (last_key, _) = items[1]
    s3 = boto3.client("s3")
    s3.delete_object(Bucket=stack.resources.bucket, Key=first_key)  # the start of one chain
    s3.delete_object(Bucket=stack.resources.bucket, Key=last_key)  # the newest record of the other
    result = await verify(stack, key_id, today)
    assert not result.ok
    kinds = found(result)
    assert ("record_deleted", first_key) in kinds and ("record_deleted", last_key) in kinds
    tail = [p for p in result.problems if p.kind == "chain_tail"]
    assert len(tail) == 1 and "record(s) 2 missing" in tail[0].detail and "ledger head at 2" in tail[0].detail
    cli = run_cli(stack, "verify-evidence", "--since", today, "--json", evidence_kms_key_id=key_id)
    assert cli.returncode == 1
    reported = json.loads(cli.stdout)
    assert reported["ok"] is False
    assert {"kind": "record_deleted", "subject": last_key} in [
        {"kind": p["kind"], "subject": p["subject"]} for p in reported["problems"]
    ]


async def test_a_forged_manifest_is_named(sealed_stack):
    stack, key_id, today = sealed_stack
    (first_key, first), _ = next(iter(chains(stack).values()))
    edited = {**first, "status": "FAILED"}
    edited["record_digest"] = record_digest(edited)
    put(stack, first_key, edited)
    manifest_key = f"manifests/dt={today}/manifest.json"
    manifest = s3_objects(stack, manifest_key)[manifest_key]
    for entry in manifest["records"]:  # the forger brings the manifest in line with the edit
        if entry["key"] == first_key:
            entry["digest"] = edited["record_digest"]
    put(stack, manifest_key, manifest)
    result = await verify(stack, key_id, today)
    assert ("manifest_forged", manifest_key) in found(result)
    assert ("record_edited", first_key) not in found(result)
    # ...or signs it with a key of their own: it does not verify with the configured one.
    other = kms_key()
    statement = (
        b"backup-validator evidence manifest v1 "
        + record_digest({k: v for k, v in manifest.items() if k != "signature"} | {"record_digest": None}).encode()
    )
    signature = boto3.client("kms").sign(
        KeyId=other, Message=statement, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    put(stack, manifest_key, {**manifest, "signature": base64.b64encode(signature).decode()})
    result = await verify(stack, key_id, today)
    assert ("manifest_forged", manifest_key) in found(result)
    cli = run_cli(stack, "verify-evidence", "--since", today, evidence_kms_key_id=key_id)
    assert cli.returncode == 1 and f"manifest_forged: {manifest_key}" in cli.stdout
