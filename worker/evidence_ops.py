"""Wiring tamper evidence to AWS, the `seal-evidence` / `verify-evidence` commands, and the verification the
evidence pack of `report --evidence` prints."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from prometheus_client import CollectorRegistry

from worker.adapters.aws import AwsClients, open_clients
from worker.adapters.evidence import ChainLedger, KmsSigner, S3Evidence
from worker.evidence.chain import EvidenceChain
from worker.evidence.service import Evidence
from worker.evidence.verify import VerifyResult
from worker.metrics import Metrics
from worker.report.evidence import BROKEN, NOT_VERIFIED, VERIFIED, Verification
from worker.report.model import Window
from worker.settings import ReportSettings, Settings

EXIT_PROBLEMS = 1


def build_evidence(clients: AwsClients, settings: Settings | ReportSettings) -> Evidence:
    signer = (
        KmsSigner(clients.kms, settings.evidence_kms_key_id, settings.evidence_signing_algorithm)
        if settings.evidence_kms_key_id
        else None
    )
    return Evidence(
        store=S3Evidence(clients.s3, settings.results_bucket),
        signer=signer,
        heads=ChainLedger(clients.dynamodb, settings.ledger_table) if settings.ledger_table else None,
        records_prefix=settings.results_prefix,
        manifest_prefix=settings.manifest_prefix,
        grace=timedelta(hours=settings.manifest_grace_hours),
    )


def build_chain(clients: AwsClients, settings: Settings) -> EvidenceChain:
    return EvidenceChain(ChainLedger(clients.dynamodb, settings.ledger_table))


async def seal_command(settings: Settings, day: date | None) -> int:
    if not settings.evidence_kms_key_id:
        print("backup-validator: BV_EVIDENCE_KMS_KEY_ID is not set: there is no key to sign manifests with")
        return EXIT_PROBLEMS
    now = datetime.now(UTC)
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        evidence = build_evidence(clients, settings)
        outcomes = [await evidence.seal_day(day, now)] if day else await evidence.seal_due(now)
    for outcome in outcomes:
        if outcome is not None:
            what = f"sealed {outcome.records} record(s)" if outcome.written else "already sealed"
            print(f"{outcome.day}: {what} ({outcome.key})")
    return 0


async def verify_period(settings: Settings | ReportSettings, since: date, until: date | None) -> VerifyResult:
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        return await build_evidence(clients, settings).verify(since, until)


async def verify_command(settings: Settings, since: date, until: date | None, as_json: bool) -> int:
    result = await verify_period(settings, since, until)
    print(json.dumps(result.as_dict(), indent=2) if as_json else render(result))
    return 0 if result.ok else EXIT_PROBLEMS


def render(result: VerifyResult) -> str:
    lines = [
        f"checked {result.records_checked} record(s) in {result.chains_checked} chain(s); "
        f"sealed days: {len(result.days_sealed)}, not yet sealed: {', '.join(result.days_unsealed) or 'none'}"
    ]
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"PROBLEM {problem}" for problem in result.problems]
    lines.append("evidence OK" if result.ok else f"evidence NOT OK: {len(result.problems)} problem(s)")
    return "\n".join(lines)


async def pack_verification(settings: ReportSettings, window: Window) -> Verification:
    """The evidence pack's verdict on the records of the window's days: VERIFIED only when every digest, chain and
    signed manifest holds; without a key the manifests' signatures cannot be checked, so nothing is claimed."""
    if not settings.evidence_kms_key_id:
        return Verification(
            NOT_VERIFIED,
            "BV_EVIDENCE_KMS_KEY_ID is not set, so the signed manifests cannot be checked: the figures below are "
            "what the records say, not proof that the records are complete and unedited.",
        )
    since, until = window.since.astimezone(UTC).date(), window.until.astimezone(UTC).date()
    try:
        result = await verify_period(settings, since, until)
    except Exception as exc:  # noqa: BLE001 - the pack says the check did not run rather than fail altogether
        return Verification(NOT_VERIFIED, f"the check of the records could not run: {type(exc).__name__}: {exc}")
    checked = (
        f"Records of {since} to {until} (UTC days): {result.records_checked} record(s) in "
        f"{result.chains_checked} chain(s), {len(result.days_sealed)} signed daily manifest(s) checked with KMS key "
        f"{settings.evidence_kms_key_id}; days not yet due for a manifest: {', '.join(result.days_unsealed) or 'none'}."
    )
    if result.ok:
        return Verification(VERIFIED, f"{checked} Every digest, hash chain and manifest signature holds.")
    problems = tuple(str(problem) for problem in result.problems)
    return Verification(BROKEN, f"{checked} {len(problems)} problem(s):", problems)
